// What the search works on: captures of the guesser's own sockets, each with
// what is known of that socket at the moment of the capture. Plain data (no
// kernel, no root): recorded captures are saved as JSON and searched again
// in tests.
import type { TcpNow } from './sockets.js';

/** A capture of a socket (struct sock and beyond: GUESS_SK_BYTES), with its known values. */
export interface SockSample {
  /** What state this capture shows ('idle', 'more', 'repair-send', ...), for messages. */
  label: string;
  /** The socket's identity across samples (deltas between captures of one socket). */
  socket: string;
  protocol: 6 | 17;
  /** AF_INET (2) or AF_INET6 (10). */
  family: 2 | 10;
  /** IPv4 addresses as text (an AF_INET6 socket's are IPv4-mapped: these are their IPv4 part); daddr '0.0.0.0' when unconnected. */
  saddr: string;
  daddr: string;
  /** Local and remote port, host order (dport 0 when unconnected). */
  sport: number;
  dport: number;
  /** skc_num expected: the local port, 0 once a TCP socket reached CLOSE (its port was released). */
  num: number;
  /** Inode of the network namespace (/proc/self/ns/net). */
  netns: number;
  /** skc_state expected (TCP: tcpi_state; UDP: 1 connected, 7 not). */
  state: number;
  /** sk_shutdown expected (TCP). */
  shutdown?: number | undefined;
  /** TCP_INFO and queue ioctls just before and just after the capture (TCP). */
  tcp?: { before: TcpNow; after: TcpNow };
  /** Sequence counters set exactly (a socket connected under TCP_REPAIR with TCP_QUEUE_SEQ): their values (u32). */
  seqs?: { writeSeq: number; sndUna: number; rcvNxt: number; copiedSeq: number } | undefined;
  /** The socket's kernel address and the captured bytes (faults: bit i = chunk i unreadable, zeroed). */
  sk: bigint;
  bytes: Buffer;
  faults: number;
  /** Pointers followed from this socket: the offset of the pointer in it, and what it pointed to (undefined: fault). */
  derefs?: { ptrOff: number; bytes: Buffer | undefined }[];
}

/** A capture of a call's other object (msghdr of a UDP sendto, sk_buff of a datagram read, struct socket of getsockname). */
export interface ArgSample {
  kind: 'msghdr' | 'skb' | 'socket';
  label: string;
  /** The socket's kernel address (for 'socket': the sk of that socket, from a sock capture). */
  sk: bigint;
  bytes: Buffer;
  /** The object could not be read (its bytes are zero): the sample shows nothing. */
  argFault?: boolean | undefined;
  derefs: { ptrOff: number; bytes: Buffer | undefined }[];
  /** msghdr: the destination given to sendto; skb: the datagram's source and destination and payload length. */
  peer?: { addr: string; port: number; family: 2 | 10 };
  local?: { addr: string; port: number };
  payload?: number;
}

/** Everything one guess saw. */
export interface Samples {
  kernel: string;
  socks: SockSample[];
  args: ArgSample[];
  /** Kernel addresses of tcp_prot, tcpv6_prot, udp_prot, udpv6_prot where /proc/kallsyms shows them. */
  prot?: { tcp: bigint; tcpv6: bigint; udp: bigint; udpv6: bigint } | undefined;
}

// ------------------------------------------------------------ JSON round trip

const BIG = '__bigint:';
const BUF = '__base64:';

/** Samples as JSON text (bigints and Buffers tagged). */
export function samplesToJson(s: Samples): string {
  return JSON.stringify(
    s,
    function (this: Record<string, unknown>, k, v) {
      const raw = this[k];
      if (typeof raw === 'bigint') return `${BIG}${raw.toString(16)}`;
      if (Buffer.isBuffer(raw)) return `${BUF}${raw.toString('base64')}`;
      return v;
    },
    0,
  );
}

/** The inverse of samplesToJson. */
export function samplesFromJson(text: string): Samples {
  return JSON.parse(text, (_k, v) => {
    if (typeof v === 'string' && v.startsWith(BIG)) return BigInt(`0x${v.slice(BIG.length)}`);
    if (typeof v === 'string' && v.startsWith(BUF)) return Buffer.from(v.slice(BUF.length), 'base64');
    return v;
  }) as Samples;
}
