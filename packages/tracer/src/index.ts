export { Tracer, type TracerInfo, type TracerStats } from './tracer.js';
export type { KernelReads, TracerOptions, Transport } from './options.js';
export type { BackendName } from './backends.js';
export type { ClientConnection, ClientStats, ConnectionDelta } from './clients.js';
export type { CloseReason, Connection, Direction, Family, Protocol, TcpInfo, TcpStateName } from './connection.js';
export { TracerError } from './errors.js';
