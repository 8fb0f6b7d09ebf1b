export { Tracer, type TracerInfo, type TracerStats } from './tracer.js';
export type { KernelReads, TracerOptions, Transport } from './options.js';
export { BACKENDS, FUNCTION_HOOKS, type Backend, type BackendName, type FunctionHook, type HookKind } from './backends.js';
export { functionProto, kretprobeMaxActive, type HookInfo } from './hooks.js';
export type { ClientStats } from './clients.js';
export { ConnectionList, ConnectionView, ROW_BYTES } from './rows.js';
export type { ClientConnection, CloseReason, Connection, ConnectionDelta, Direction, Family, Protocol, TcpInfo, TcpStateName } from './connection.js';
export { TracerError } from './errors.js';
