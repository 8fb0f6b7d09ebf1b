// The guesser's own sockets: loopback TCP pairs and UDP sockets on random
// 127/8 addresses (IPv6 through IPv4-mapped ::ffff:127.x.y.z, which works
// with net.ipv6.conf.*.disable_ipv6=1 too), driven into known states with
// synchronous calls. Plain non-blocking descriptors (the loader's socket
// calls), never Node's net or dgram: nothing reads behind the guesser's
// back, data stays in the kernel until the guesser peeks at it, and no
// stream or event machinery runs (it cost more than the system calls,
// several times over in an emulated guest).
import { closeSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { setSocketOption, socketAccept, socketBind, socketConnect, socketListen, socketName, socketQueue, socketRecv, socketSend, socketShutdown, tcpInfo, tcpSocket, udpSocket } from '@tracer-bpf/loader';
import { GuessError } from './errors.js';

export type Family = 4 | 6;

export const IPPROTO_TCP = 6;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const TCP_NODELAY = 1;
export const TCP_CLOSE = 7;
export const MSG_PEEK = 2;
export const MSG_MORE = 0x8000;
const TCP_REPAIR = 19;
const TCP_REPAIR_QUEUE = 20;
export const TCP_NO_QUEUE = 0;
export const TCP_RECV_QUEUE = 1;
export const TCP_SEND_QUEUE = 2;

/** A random 127.0.0.0/8 address (never 127.0.0.0/24: others use it), as text. */
export function randomLoopback(): string {
  return `127.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(1, 255)}`;
}

/** The text form a socket of `family` uses for a 127/8 address. */
export function familyAddress(v4: string, family: Family): string {
  return family === 4 ? v4 : `::ffff:${v4}`;
}

/**
 * How long the guesser waits for its own loopback traffic (data, a FIN, a
 * retransmission): milliseconds normally, seconds on a loaded or emulated
 * machine (2-3 s ran out once in a QEMU guest beside other guests). Only a
 * guess that is failing anyway waits it out.
 */
export const WAIT_MS = 10_000;

/** Resolve when `done()` holds, polling each turn of the event loop; reject after `ms`. */
export async function until(what: string, done: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() > end) throw new GuessError('ERR_GUESS_SOCKET', `timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** What TCP_INFO and the queue ioctls say of a TCP socket now. */
export interface TcpNow {
  /** tcpi_state */
  state: number;
  /** tcpi_rtt (srtt_us >> 3) and tcpi_rttvar (mdev_us >> 2), microseconds. */
  rtt: number;
  rttvar: number;
  totalRetrans: number;
  segsIn: number;
  segsOut: number;
  bytesAcked: bigint;
  bytesReceived: bigint;
  /** SIOCINQ (rcv_nxt - copied_seq), SIOCOUTQ (write_seq - snd_una), SIOCOUTQNSD (write_seq - snd_nxt). */
  inq: number;
  outq: number;
  notSent: number;
}

/** struct tcp_info fields (uapi linux/tcp.h, stable offsets since 4.2). */
export function tcpNow(fd: number): TcpNow {
  const b = tcpInfo(fd);
  if (b.length < 144) throw new GuessError('ERR_GUESS_UNSUPPORTED', `TCP_INFO returned ${b.length} bytes: this kernel lacks tcpi_segs_in (4.2+)`);
  // In a state without a queue (listen, close) the ioctls fail: 0.
  const q = (which: 'inq' | 'outq' | 'outqnsd'): number => {
    try {
      return socketQueue(fd, which);
    } catch {
      return 0;
    }
  };
  return {
    state: b[0]!,
    rtt: b.readUInt32LE(68),
    rttvar: b.readUInt32LE(72),
    totalRetrans: b.readUInt32LE(100),
    bytesAcked: b.readBigUInt64LE(120),
    bytesReceived: b.readBigUInt64LE(128),
    segsOut: b.readUInt32LE(136),
    segsIn: b.readUInt32LE(140),
    inq: q('inq'),
    outq: q('outq'),
    notSent: q('outqnsd'),
  };
}

export interface Endpoint {
  addr: string;
  port: number;
}

/** One end of a TCP connection of the guesser. */
export interface TcpEnd {
  fd: number;
  family: Family;
  local: Endpoint;
  remote: Endpoint;
  /** Bytes this end sent and received so far (its peer's sends). */
  sent: number;
  received: number;
  /** Bytes this end consumed (read, not peeked). */
  readCount: number;
}

export interface TcpPair {
  client: TcpEnd;
  server: TcpEnd;
}

/**
 * A socket of `family` bound to `addr` (port 0: the kernel picks), IPv6 ones
 * dual-stack (IPV6_V6ONLY off, whatever net.ipv6.bindv6only says). Closed
 * again when the bind fails.
 */
function bound(fd: number, family: Family, addr: string): number {
  try {
    if (family === 6) setSocketOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    socketBind(fd, addr, 0);
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** A listener on a random 127/8 address. */
export class Listener {
  readonly fd: number;
  readonly family: Family;
  readonly addr: string;
  readonly port: number;
  /** Settles when the pair being made on this listener is (tcpPair makes them one at a time). */
  turn: Promise<unknown> = Promise.resolve();

  private constructor(fd: number, family: Family, addr: string, port: number) {
    this.fd = fd;
    this.family = family;
    this.addr = addr;
    this.port = port;
  }

  /** A listener (an address in use is tried again elsewhere, three times). Errors carry the loader's BpfError as `cause` (its `code`: EAFNOSUPPORT without IPv6). */
  static open(family: Family): Listener {
    for (let attempt = 0; ; attempt++) {
      const addr = familyAddress(randomLoopback(), family);
      try {
        const fd = bound(tcpSocket(family), family, addr);
        try {
          socketListen(fd, 64);
          return new Listener(fd, family, addr, socketName(fd).port);
        } catch (e) {
          closeSync(fd);
          throw e;
        }
      } catch (e) {
        if (attempt >= 3 || (e as { code?: string }).code === 'EAFNOSUPPORT') throw new GuessError('ERR_GUESS_SOCKET', `cannot listen on ${addr}: ${(e as Error).message}`, undefined, undefined, { cause: e });
      }
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

function end(fd: number, family: Family, local: Endpoint, remote: Endpoint): TcpEnd {
  return { fd, family, local, remote, sent: 0, received: 0, readCount: 0 };
}

/**
 * A connected pair from a random 127/8 address to the listener. Pairs on one
 * listener are made one at a time: an accept takes the oldest connection
 * waiting, which is then this pair's own.
 */
export function tcpPair(l: Listener): Promise<TcpPair> {
  const turn = l.turn.then(() => connectPair(l));
  l.turn = turn.catch(() => undefined);
  return turn;
}

async function connectPair(l: Listener): Promise<TcpPair> {
  const localAddress = familyAddress(randomLoopback(), l.family);
  const c = bound(tcpSocket(l.family), l.family, localAddress);
  let a = -1;
  try {
    socketConnect(c, l.addr, l.port);
    // On loopback the handshake is done in the connect call or just after it.
    await until(`a connection to ${l.addr}:${l.port} from ${localAddress}`, () => {
      a = socketAccept(l.fd);
      if (a < 0 && tcpInfo(c)[0] === TCP_CLOSE) throw new GuessError('ERR_GUESS_SOCKET', `connect to ${l.addr}:${l.port} from ${localAddress}: refused or reset`);
      return a >= 0;
    }, WAIT_MS);
    const local = { addr: localAddress, port: socketName(c).port };
    const remote = { addr: l.addr, port: l.port };
    return { client: end(c, l.family, local, remote), server: end(a, l.family, remote, local) };
  } catch (e) {
    closeSync(c);
    if (a >= 0) closeSync(a);
    throw e;
  }
}

/** A bound UDP socket on `addr` (a random 127/8 one, IPv4-mapped for family 6): its descriptor and port. */
export function udpBound(family: Family, addr: string): { fd: number; port: number } {
  const fd = bound(udpSocket(family), family, addr);
  return { fd, port: socketName(fd).port };
}

export function setNoDelay(e: TcpEnd): void {
  setSocketOption(e.fd, IPPROTO_TCP, TCP_NODELAY, 1);
}

/** Bytes to send: their values never matter, only how many (a fill, no random source: that was slow in emulated guests). */
const FILL = Buffer.alloc(1 << 16, 0x5a);

/** `n` bytes to send (at most 64 KiB; a view of one shared buffer, never written to). */
export function payload(n: number): Buffer {
  if (n > FILL.length) throw new RangeError(`payload: at most ${FILL.length} bytes, asked ${n}`);
  return FILL.subarray(0, n);
}

/**
 * `n` random bytes from `from` to `to` (synchronous sends), then until `to`
 * has them. Their ACK may still be on its way (delayed ACKs): captures hold
 * either way, the search checks the values TCP_INFO gives before and after.
 */
export async function sendData(from: TcpEnd, to: TcpEnd, n: number): Promise<void> {
  const data = payload(n);
  let off = 0;
  while (off < n) {
    try {
      off += socketSend(from.fd, data.subarray(off));
    } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN') throw e;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  from.sent += n;
  to.received += n;
  const want = to.received - to.readCount;
  await until('data to arrive on loopback', () => socketQueue(to.fd, 'inq') >= want, WAIT_MS);
}

/** One MSG_PEEK read of a byte: the TCP receive path runs (tcp_rcv_space_adjust), nothing is consumed. */
export function peek(e: TcpEnd): void {
  socketRecv(e.fd, Buffer.alloc(1), MSG_PEEK);
}

/** Consume `n` bytes (synchronously). */
export function consume(e: TcpEnd, n: number): void {
  const b = Buffer.alloc(n);
  let got = 0;
  while (got < n) got += socketRecv(e.fd, b.subarray(got));
  e.readCount += n;
}

export function shutdownWrite(e: TcpEnd): void {
  socketShutdown(e.fd, 'write');
}

export function repair(e: TcpEnd, on: boolean): void {
  setSocketOption(e.fd, IPPROTO_TCP, TCP_REPAIR, on ? 1 : 0);
}

export function repairQueue(e: TcpEnd, q: number): void {
  setSocketOption(e.fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, q);
}

export function closePair(p: TcpPair): void {
  closeSync(p.client.fd);
  closeSync(p.server.fd);
}
