// What users get: typed connections with numbers (views over a snapshot's
// rows, see rows.ts, or plain objects from toObject()), nothing libbpf-shaped.

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

/**
 * One connection. Counters and clock values are numbers: exact below 2^53
 * (8 PiB, or 9 x 10^15 packets: a connection at 100 Gbit/s for 8 days),
 * rounded to the nearest double above (never wrapped). The CLOCK_MONOTONIC
 * values pass 2^53 ns after 104 days of uptime, where a double's step is
 * 2 ns (4 ns after 208 days): far finer than the clock ticks behind
 * `lastUpdate`. `id` stays a bigint: assigned ids use all 64 bits.
 */
export interface Connection {
  /** Tells connections on a reused tuple apart: the socket cookie, or an id assigned at first sight (bit 63 set). */
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
  sentBytes: number;
  recvBytes: number;
  /** TCP segments / UDP datagrams. */
  sentPackets: number;
  recvPackets: number;
  /** CLOCK_MONOTONIC ns of the first sight and of the last update (the close time when closed). */
  start: number;
  lastUpdate: number;
  /** It existed before the tracer started: its counters start at the first event seen. */
  seenLate: boolean;
  /** UDP: traffic seen both ways. */
  assured: boolean;
  tcp: TcpInfo | undefined;
  /** Set on connections that closed since the last snapshot. */
  closed: CloseReason | undefined;
}

/** What moved on a connection since the client's previous call (everything, the first time it sees it). */
export interface ConnectionDelta {
  sentBytes: number;
  recvBytes: number;
  sentPackets: number;
  recvPackets: number;
  /** TCP retransmits (0 for UDP). */
  retransmits: number;
}

/** A connection as a client reads it: with what moved since that client's previous call. */
export interface ClientConnection extends Connection {
  delta: ConnectionDelta;
}
