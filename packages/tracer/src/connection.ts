// What users get: plain typed objects, nothing libbpf- or view-shaped.
import { type ConnStats, type ConnTuple, type TcpStats, ConnDirection, closeReason, TcpState } from '@tracer-bpf/decode';

export type Protocol = 'tcp' | 'udp';
export type Family = 'ipv4' | 'ipv6';
export type Direction = 'incoming' | 'outgoing' | 'unknown';
export type TcpStateName =
  | 'ESTABLISHED' | 'SYN_SENT' | 'SYN_RECV' | 'FIN_WAIT1' | 'FIN_WAIT2' | 'TIME_WAIT'
  | 'CLOSE' | 'CLOSE_WAIT' | 'LAST_ACK' | 'LISTEN' | 'CLOSING' | 'NEW_SYN_RECV';
export type CloseReason = 'destroyed' | 'failed' | 'expired' | 'unknown';

/** TCP-only figures, read from the kernel's tcp_sock (what TCP_INFO reports). */
export interface TcpInfo {
  /** tcp_sock.total_retrans */
  retransmits: number;
  /** Smoothed RTT and its variance, microseconds (srtt_us >> 3, mdev_us >> 2). */
  rttUs: number;
  rttVarUs: number;
  /** Segments out / in (tcp_sock.segs_out / segs_in), from the connection's start (or first sight). */
  segsOut: number;
  segsIn: number;
  /** Every state the connection entered, in the kernel's numbering order (a shared, frozen array). */
  states: TcpStateName[];
  /** The last state seen. */
  state: TcpStateName | undefined;
}

export interface Connection {
  /** Tells connections on a reused tuple apart: the socket cookie, or an id assigned at first sight. */
  id: bigint;
  /** `id` is the kernel's socket cookie (as `ss -e` shows it). */
  idIsCookie: boolean;
  protocol: Protocol;
  family: Family;
  /** tgid of the process doing the I/O, in the tracer's pid namespace; 0 while unknown. */
  pid: number;
  /** That process's name (/proc/<pid>/comm, cached; kept after it exits); undefined for pid 0. */
  command: string | undefined;
  /** Network namespace inode number (as /proc/<pid>/ns/net shows it). */
  netns: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  direction: Direction;
  sentBytes: bigint;
  recvBytes: bigint;
  /** TCP segments / UDP datagrams. */
  sentPackets: bigint;
  recvPackets: bigint;
  /** CLOCK_MONOTONIC ns of the first sight and of the last update (the close time when closed). */
  start: bigint;
  lastUpdate: bigint;
  /** It existed before the tracer started: its counters start at the first event seen. */
  seenLate: boolean;
  /** UDP: traffic seen both ways. */
  assured: boolean;
  tcp: TcpInfo | undefined;
  /** Set on connections that closed since the last snapshot. */
  closed: CloseReason | undefined;
}

const STATE_NAMES = Object.fromEntries(Object.entries(TcpState).map(([k, v]) => [v, k])) as Record<number, TcpStateName>;

export function stateNames(mask: number): TcpStateName[] {
  const out: TcpStateName[] = [];
  for (let s = 1; s <= 12; s++) if ((mask >>> s) & 1) out.push(STATE_NAMES[s]!);
  return out;
}

/** stateNames() per mask, made once: a connection's `states` is one of these shared, frozen arrays (no array per connection per read). */
const STATES_BY_MASK = new Map<number, readonly TcpStateName[]>();
function statesOf(mask: number): TcpStateName[] {
  let s = STATES_BY_MASK.get(mask);
  if (!s) {
    s = Object.freeze(stateNames(mask));
    STATES_BY_MASK.set(mask, s);
  }
  return s as TcpStateName[];
}

function direction(d: number): Direction {
  return d === ConnDirection.INCOMING ? 'incoming' : d === ConnDirection.OUTGOING ? 'outgoing' : 'unknown';
}

export function tcpInfo(t: TcpStats): TcpInfo {
  return {
    retransmits: t.retransmits,
    rttUs: t.rtt,
    rttVarUs: t.rttVar,
    segsOut: t.segsOut,
    segsIn: t.segsIn,
    states: statesOf(t.stateTransitions),
    state: t.state ? STATE_NAMES[t.state] : undefined,
  };
}

/** A Connection from a tuple and its counters; `pid` overrides the tuple's (a TCP socket record's process slot). */
export function toConnection(tup: ConnTuple, s: ConnStats, tcp: TcpStats | undefined, reason?: number, pid?: number): Connection {
  return {
    id: s.id,
    idIsCookie: s.idIsCookie,
    protocol: tup.isTcp ? 'tcp' : 'udp',
    family: tup.isIPv6 ? 'ipv6' : 'ipv4',
    pid: pid ?? tup.pid,
    command: undefined,
    netns: tup.netns,
    localAddress: tup.source,
    localPort: tup.sport,
    remoteAddress: tup.dest,
    remotePort: tup.dport,
    direction: direction(s.direction),
    sentBytes: s.sentBytes,
    recvBytes: s.recvBytes,
    sentPackets: s.sentPackets,
    recvPackets: s.recvPackets,
    start: s.start,
    lastUpdate: s.timestamp,
    seenLate: s.seenLate,
    assured: s.isAssured,
    tcp: tup.isTcp && tcp ? tcpInfo(tcp) : undefined,
    closed: reason === undefined ? undefined : closeReason(reason),
  };
}
