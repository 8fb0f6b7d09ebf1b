export { BpfObject, type AttachReport, type OpenOptions } from './object.js';
export { BpfProgram, type AttachOptions, type KprobeMode, type ProgramStats, type TestRunOptions } from './program.js';
export { BpfMap, BPF_F_NO_PREALLOC, possibleCpus, type BatchCursor, type MapDump, type MapInfo, type ReadAllOptions, type ReadMethod, type UpdateFlag } from './map.js';
export { Link, type LinkInfo } from './link.js';
export {
  RingBufferReader,
  PerfBufferReader,
  chooseTransport,
  type EventTransport,
  type PerfBufferOptions,
  type RingBufferOptions,
} from './readers.js';
export { enableBpfStats, type BpfStatsScope } from './stats.js';
export { featureTurnedOff, probeFeature, probeFeatures, resetFeatureCache, type Feature, type FeatureStatus } from './features.js';
export { resolveKernelFunction, type CloneKind, type ResolveOptions, type ResolvedFunction } from './kallsyms.js';
export { readProcText } from './proc-text.js';
export { allocPages, mapFileReadOnly, releasePages } from './memory.js';
export type { AttachSpec } from './section.js';
export type { GlobalSpec, GlobalValue } from './globals.js';
export { tcpInfo, socketQueue, setSocketOption, socketSend, socketSendTo, socketRecv, socketShutdown, tcpSocket, udpSocket, socketListen, socketAccept, socketBind, socketConnect, socketName, type SocketQueue } from './sockets.js';
export { readCapabilities, type Capabilities } from './capabilities.js';
export { findTracefs } from './tracefs.js';
export { legacyEventName, removeStaleProbeEvents, staleProbeEvents, type StaleProbeEvent, type StaleProbeEventsReport } from './probe-events.js';
export { parseTracepointFormat, readTracepointFormat, type TracepointField, type TracepointFormat } from './tracepoint-format.js';
export { setLibbpfLogLevel, libbpfVersion, type LibbpfLogLevel } from './logging.js';
export {
  BpfError,
  BpfArgumentError,
  BpfClosedError,
  BpfNotSupportedError,
  BpfObjectFormatError,
  BpfPermissionError,
  BpfStateError,
  BpfVerifierError,
  type BpfErrorCode,
  type BpfErrorFields,
  type ErrnoCode,
  type UsageCode,
} from './errors.js';
