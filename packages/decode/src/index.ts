export type { AbiRecord, RecordMethods } from './record.js';
export { decodeTuple, ConnTuple, CONN_TUPLE_SIZE, type ConnTupleObject } from './tuple.js';
export { decodeConnStats, ConnStats, CONN_STATS_SIZE, type ConnStatsObject } from './conn-stats.js';
export { decodeTcpStats, TcpStats, TCP_STATS_SIZE, type TcpStatsObject } from './tcp-stats.js';
export { decodeConn, Conn, CONN_SIZE, type ConnObject } from './conn.js';
export { toBatch, Batch, BATCH_SIZE, BATCH_SLOT_OFFSETS } from './batch.js';
export { decodePortBinding, PortBinding, PORT_BINDING_SIZE, type PortBindingObject } from './port-binding.js';
export { decodeTelemetry, sumTelemetry, TELEMETRY_SIZE, type Telemetry } from './telemetry.js';
export { encodeTuple, encodePortBinding, type ConnTupleInput, type PortBindingInput } from './encode.js';
export { decodeStruct, compileStruct, type RawStruct, type RawDecoder, type StructName } from './raw.js';
export { formatIPv4, formatIPv6, formatAddress, ipv4FromWord, ipv6FromWords, parseIPv4, parseIPv6 } from './address.js';
export {
  ConnTypeBit,
  ConnFamilyBit,
  ConnDirection,
  ConnFlags,
  ConnCloseReason,
  TcpState,
  GuessWhat,
  TRACER_ABI_VERSION,
  CONN_CLOSED_BATCH_SIZE,
  ConnectionType,
  ConnectionFamily,
  ConnectionDirection,
  CloseReason,
  closeReason,
  IpProtocol,
  connectionType,
  connectionFamily,
  connectionTypeName,
  connectionFamilyName,
} from './enums.js';
export { DecodeError, type DecodeErrorFields, type DecodeFailure } from './errors.js';
export * as abi from './layout.gen.js';
export type { FieldLayout, ScalarField, StructField, ArrayField, StructLayout, ScalarType } from './layout-types.js';
