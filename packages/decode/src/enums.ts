// The two enum encodings of the seed, kept apart by name:
//   kernel side (values from the ABI header through the generated table):
//     ConnTypeBit, ConnFamilyBit (bits of conn_tuple.metadata), ConnDirection,
//     ConnFlags, ConnCloseReason, TcpState, GuessWhat;
//   userspace side (the network layer's own enums, seed pkg/network/event_common.go):
//     ConnectionType (TCP=0, UDP=1), ConnectionFamily (AFINET=0, AFINET6=1),
//     ConnectionDirection (INCOMING=1, OUTGOING=2, LOCAL=3, NONE=4),
//     CloseReason ('destroyed', 'failed', 'expired', 'unknown').
// ConnTypeBit.TCP is 1 and ConnectionType.TCP is 0: convert with
// connectionType(metadata) / connectionFamily(metadata), never by value.
import { enums } from './layout.gen.js';

type StripPrefix<T, P extends string> = { readonly [K in keyof T as K extends `${P}${infer R}` ? R : never]: T[K] };

function stripPrefix<T extends Record<string, number | bigint>, P extends string>(table: T, prefix: P): StripPrefix<T, P> {
  const out: Record<string, number | bigint> = {};
  for (const [k, v] of Object.entries(table)) {
    if (!k.startsWith(prefix)) throw new Error(`@tracer-bpf/decode: ${k} does not start with ${prefix}`);
    out[k.slice(prefix.length)] = v;
  }
  return Object.freeze(out) as StripPrefix<T, P>;
}

type Values<T> = T[keyof T];

// ---------------------------------------------------------------- kernel encodings

/** Kernel encoding: conn_tuple.metadata & MASK is UDP (0) or TCP (1). Not ConnectionType. */
export const ConnTypeBit = stripPrefix(enums.conn_type_bit, 'CONN_TYPE_');
/** Kernel encoding: conn_tuple.metadata & MASK is V4 (0) or V6 (2). Not ConnectionFamily. */
export const ConnFamilyBit = Object.freeze({
  V4: enums.conn_family_bit.CONN_V4,
  V6: enums.conn_family_bit.CONN_V6,
  MASK: enums.conn_family_bit.CONN_FAMILY_MASK,
} as const);
/** Kernel encoding of conn_stats.direction: UNKNOWN, INCOMING, OUTGOING (and MASK). */
export const ConnDirection = stripPrefix(enums.conn_direction, 'CONN_DIRECTION_');
export type ConnDirection = Values<Omit<typeof ConnDirection, 'MASK'>>;
/**
 * conn_stats.flags bits: L_INIT, R_INIT, ASSURED (UDP); ID_COOKIE (conn_stats.id
 * is the socket cookie), SEEN_LATE (first seen after it was opened), NO_PID
 * (no I/O in process context seen yet: the tuple's pid is 0).
 */
export const ConnFlags = stripPrefix(enums.conn_flags, 'CONN_');
/** Kernel encoding of conn.reason (why a close record was made): DESTROYED, FAILED, EXPIRED. Not CloseReason. */
export const ConnCloseReason = stripPrefix(enums.conn_close_reason, 'CONN_CLOSE_');
export type ConnCloseReason = Values<typeof ConnCloseReason>;
/** Kernel TCP state numbers; tcp_stats.state_transitions has bit 1 << state set for each state entered. */
export const TcpState = stripPrefix(enums.tcp_state_num, 'TCP_STATE_');
export type TcpState = Values<typeof TcpState>;
/** The field the offset guesser is working on. */
export const GuessWhat = stripPrefix(enums.guess_what, 'GUESS_');
export type GuessWhat = Values<typeof GuessWhat>;

/** ABI version of the header the table was generated from. */
export const TRACER_ABI_VERSION = enums.tracer_abi_const.TRACER_ABI_VERSION;
/** Close records per batch. */
export const CONN_CLOSED_BATCH_SIZE = enums.tracer_abi_const.CONN_CLOSED_BATCH_SIZE;

// ---------------------------------------------------------------- userspace encodings

/** Userspace connection type (network layer): TCP = 0, UDP = 1. Not ConnTypeBit. */
export const ConnectionType = Object.freeze({ TCP: 0, UDP: 1 } as const);
export type ConnectionType = Values<typeof ConnectionType>;
/** Userspace address family (network layer): AFINET = 0, AFINET6 = 1. Not ConnFamilyBit. */
export const ConnectionFamily = Object.freeze({ AFINET: 0, AFINET6: 1 } as const);
export type ConnectionFamily = Values<typeof ConnectionFamily>;
/** Userspace direction (network layer); LOCAL and NONE are decided in userspace, not by the kernel. */
export const ConnectionDirection = Object.freeze({ INCOMING: 1, OUTGOING: 2, LOCAL: 3, NONE: 4 } as const);
export type ConnectionDirection = Values<typeof ConnectionDirection>;

/**
 * Userspace close reason (what a consumer reports): 'destroyed' (the socket
 * was destroyed), 'failed' (TCP: destroyed without ever reaching
 * ESTABLISHED), 'expired' (idle past its timeout), 'unknown' (a reason byte
 * this version does not know, e.g. 0). Not ConnCloseReason.
 */
export const CloseReason = Object.freeze({ DESTROYED: 'destroyed', FAILED: 'failed', EXPIRED: 'expired', UNKNOWN: 'unknown' } as const);
export type CloseReason = Values<typeof CloseReason>;

/** The userspace CloseReason of a close record's kernel reason byte (conn.reason). */
export function closeReason(reason: number): CloseReason {
  switch (reason) {
    case ConnCloseReason.DESTROYED:
      return CloseReason.DESTROYED;
    case ConnCloseReason.FAILED:
      return CloseReason.FAILED;
    case ConnCloseReason.EXPIRED:
      return CloseReason.EXPIRED;
    default:
      return CloseReason.UNKNOWN;
  }
}

/** IP protocol numbers (IANA) of struct port_binding's protocol byte. */
export const IpProtocol = Object.freeze({ TCP: 6, UDP: 17 } as const);
export type IpProtocol = Values<typeof IpProtocol>;

/** The userspace ConnectionType of a tuple's kernel metadata bits. */
export function connectionType(metadata: number): ConnectionType {
  return (metadata & ConnTypeBit.MASK) === ConnTypeBit.TCP ? ConnectionType.TCP : ConnectionType.UDP;
}

/** The userspace ConnectionFamily of a tuple's kernel metadata bits. */
export function connectionFamily(metadata: number): ConnectionFamily {
  return (metadata & ConnFamilyBit.MASK) === ConnFamilyBit.V6 ? ConnectionFamily.AFINET6 : ConnectionFamily.AFINET;
}

/** 'TCP' or 'UDP'. */
export function connectionTypeName(t: ConnectionType): 'TCP' | 'UDP' {
  return t === ConnectionType.TCP ? 'TCP' : 'UDP';
}

/** 'v4' or 'v6'. */
export function connectionFamilyName(f: ConnectionFamily): 'v4' | 'v6' {
  return f === ConnectionFamily.AFINET6 ? 'v6' : 'v4';
}
