// The guesser's own sockets: loopback TCP pairs and UDP sockets on random
// 127/8 addresses (IPv6 through IPv4-mapped ::ffff:127.x.y.z, which works
// with net.ipv6.conf.*.disable_ipv6=1 too), driven into known states with
// synchronous calls. Node's own reading is paused: data stays in the kernel
// until the guesser peeks at it.
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { setSocketOption, socketQueue, socketRecv, socketSend, socketShutdown, tcpInfo } from '@tracer-bpf/loader';
import { GuessError } from './errors.js';

export type Family = 4 | 6;

export const IPPROTO_TCP = 6;
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

/** A Node socket's libuv handle. dgram's `_handle` getter is deprecated (DEP0112: a warning on stderr), so a UDP socket's comes from its state. */
function handleOf(s: net.Socket | dgram.Socket): { fd?: number } | undefined {
  if (s instanceof dgram.Socket) {
    const state = Object.getOwnPropertySymbols(s).find((k) => k.description === 'state symbol');
    const h = state && (s as unknown as Record<symbol, { handle?: { fd?: number } } | undefined>)[state]?.handle;
    if (h) return h;
  }
  return (s as unknown as { _handle?: { fd?: number } })._handle;
}

/** A Node socket's file descriptor (libuv's, on Linux). */
export function fdOf(s: net.Socket | dgram.Socket): number {
  const h = handleOf(s);
  if (!h || typeof h.fd !== 'number' || h.fd < 0) throw new GuessError('ERR_GUESS_SOCKET', 'a guesser socket has no file descriptor');
  return h.fd;
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
  socket: net.Socket;
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

/** A listener on a random 127/8 address; accepted sockets arrive paused. */
export class Listener {
  readonly server: net.Server;
  readonly family: Family;
  readonly addr: string;
  #waiting: ((s: net.Socket) => void)[] = [];
  #queued: net.Socket[] = [];

  private constructor(server: net.Server, family: Family, addr: string) {
    this.server = server;
    this.family = family;
    this.addr = addr;
    server.on('connection', (s) => {
      s.on('error', () => {});
      const w = this.#waiting.shift();
      if (w) w(s);
      else this.#queued.push(s);
    });
  }

  static async open(family: Family): Promise<Listener> {
    for (let attempt = 0; ; attempt++) {
      const addr = familyAddress(randomLoopback(), family);
      const server = net.createServer({ pauseOnConnect: true });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: addr, port: 0, ipv6Only: false, backlog: 64 }, () => resolve());
        });
        return new Listener(server, family, addr);
      } catch (e) {
        server.close();
        if (attempt >= 3) throw new GuessError('ERR_GUESS_SOCKET', `cannot listen on ${addr}: ${(e as Error).message}`, undefined, undefined, { cause: e });
      }
    }
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  accept(): Promise<net.Socket> {
    const s = this.#queued.shift();
    if (s) return Promise.resolve(s);
    return new Promise((r) => this.#waiting.push(r));
  }

  close(): void {
    this.server.close();
    for (const s of this.#queued) s.destroy();
  }
}

function end(socket: net.Socket, family: Family): TcpEnd {
  return {
    socket,
    fd: fdOf(socket),
    family,
    local: { addr: socket.localAddress!, port: socket.localPort! },
    remote: { addr: socket.remoteAddress!, port: socket.remotePort! },
    sent: 0,
    received: 0,
    readCount: 0,
  };
}

/** A connected pair from a random 127/8 address to the listener, both ends paused. */
export async function tcpPair(l: Listener): Promise<TcpPair> {
  const localAddress = familyAddress(randomLoopback(), l.family);
  const client = net.connect({ host: l.addr, port: l.port, localAddress, family: l.family });
  client.pause();
  client.on('error', () => {});
  const accepted = l.accept();
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', (e) => reject(new GuessError('ERR_GUESS_SOCKET', `connect to ${l.addr}:${l.port} from ${localAddress}: ${e.message}`, undefined, undefined, { cause: e })));
  });
  const server = await accepted;
  return { client: end(client, l.family), server: end(server, l.family) };
}

/**
 * `n` random bytes from `from` to `to` (synchronous sends), then until `to`
 * has them. Their ACK may still be on its way (delayed ACKs): captures hold
 * either way, the search checks the values TCP_INFO gives before and after.
 */
export async function sendData(from: TcpEnd, to: TcpEnd, n: number): Promise<void> {
  const data = randomBytes(n);
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
  p.client.socket.destroy();
  p.server.socket.destroy();
}
