export { BpfObject, type OpenOptions } from './object.js';
export { BpfProgram, type AttachOptions, type KprobeMode, type TestRunOptions } from './program.js';
export { BpfMap, BatchCursor, possibleCpus, type MapDump, type MapInfo, type ReadAllOptions, type ReadMethod, type UpdateFlag } from './map.js';
export { Link, systemLinkIds, type LinkInfo } from './link.js';
export {
  RingBufferReader,
  PerfBufferReader,
  chooseTransport,
  splitBatch,
  type EventTransport,
  type PerfBufferOptions,
  type RingBufferOptions,
} from './readers.js';
export { probeFeature, probeFeatures, resetFeatureCache, type Feature, type FeatureStatus } from './features.js';
export { resolveKernelFunction, type CloneKind, type ResolveOptions, type ResolvedFunction } from './kallsyms.js';
export { parseSection, type AttachSpec } from './section.js';
export { encodeGlobal, type GlobalSpec, type GlobalValue } from './globals.js';
export { readCapabilities, type Capabilities } from './capabilities.js';
export { findTracefs } from './tracefs.js';
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
  type BpfErrorFields,
} from './errors.js';
