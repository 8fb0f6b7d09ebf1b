// Collecting samples: the guesser's sockets brought into known states and
// captured, each capture paired with what the guesser knows of that socket.
import { randomInt } from 'node:crypto';
import { closeSync, statSync } from 'node:fs';
import { setSocketOption, socketBind, socketConnect, socketName, socketRecv, socketSend, socketSendTo, tcpSocket } from '@tracer-bpf/loader';
import { type Capturer, type CaptureKind, type Deref } from './capture.js';
import { GuessError } from './errors.js';
import type { ArgSample, SockSample } from './samples.js';
import {
  closePair,
  type Family,
  familyAddress,
  IPPROTO_TCP,
  Listener,
  MSG_MORE,
  payload,
  peek,
  randomLoopback,
  repair,
  repairQueue,
  sendData,
  setNoDelay,
  shutdownWrite,
  TCP_CLOSE,
  TCP_NO_QUEUE,
  TCP_RECV_QUEUE,
  TCP_SEND_QUEUE,
  type TcpEnd,
  tcpNow,
  type TcpPair,
  tcpPair,
  udpBound,
  until,
  WAIT_MS,
} from './sockets.js';

/** Read a UDP socket's queue empty (earlier datagrams: the next read must be of the one just sent). */
function drain(fd: number): void {
  const b = Buffer.alloc(65536);
  for (;;) {
    try {
      socketRecv(fd, b);
    } catch (e) {
      if ((e as { code?: string }).code === 'EAGAIN') return;
      throw e;
    }
  }
}

const TCP_ESTABLISHED = 1;
const TCP_CONGESTION = 13;
const SOL_SOCKET = 1;
const SO_NO_CHECK = 11;
const TCP_REPAIR = 19;
const TCP_REPAIR_QUEUE = 20;
const TCP_QUEUE_SEQ = 21;
const TCP_REPAIR_OFF_NO_WP = -1;
const MSG_OOB = 1;
const TCP_CLOSE_WAIT = 8;

/** The IPv4 part of an address as a socket of either family shows it. */
export function v4Part(addr: string): string {
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

export function netnsInode(): number {
  return Number(statSync('/proc/self/ns/net').ino);
}

let sockIds = 0;

/** What one round of sockets showed. */
export interface Round {
  socks: SockSample[];
  args: ArgSample[];
}

/** The guesser's sockets of one guess, kept open until close() (a pair's state must not move under a later capture). */
export class Observer {
  #capturer: Capturer | undefined;
  readonly #netns = netnsInode();
  readonly #ids = new WeakMap<TcpEnd, string>();
  readonly #sk = new WeakMap<TcpEnd, bigint>();
  readonly #pairs: TcpPair[] = [];
  readonly #udp: number[] = [];
  readonly #listeners: Map<Family, Listener>;
  readonly families: Family[];
  /** Why IPv6 is missing, if it is. */
  readonly noIpv6: string | undefined;

  private constructor(listeners: Map<Family, Listener>, noIpv6: string | undefined) {
    this.#listeners = listeners;
    this.families = [...listeners.keys()];
    this.noIpv6 = noIpv6;
  }

  /** IPv4 always; IPv6 (through IPv4-mapped addresses) unless the kernel has no IPv6 at all. */
  static open(): Observer {
    const listeners = new Map<Family, Listener>([[4, Listener.open(4)]]);
    let noIpv6: string | undefined;
    try {
      listeners.set(6, Listener.open(6));
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      noIpv6 = cause?.code === 'EAFNOSUPPORT' ? 'this kernel has no IPv6 (booted with ipv6.disable=1: AF_INET6 sockets are refused)' : `no IPv6 socket could listen: ${(e as Error).message}`;
    }
    return new Observer(listeners, noIpv6);
  }

  /** The loaded capture programs (sockets can be set up before they are). */
  set cap(c: Capturer) {
    this.#capturer = c;
  }

  get #cap(): Capturer {
    if (!this.#capturer) throw new GuessError('ERR_GUESS_CLOSED', 'no capture programs yet');
    return this.#capturer;
  }

  get netns(): number {
    return this.#netns;
  }

  #id(e: TcpEnd): string {
    let id = this.#ids.get(e);
    if (!id) this.#ids.set(e, (id = `tcp${e.family}#${++sockIds}`));
    return id;
  }

  /** A capture of a TCP end (a MSG_PEEK read of its unread data). */
  sockSample(e: TcpEnd, label: string, shutdown: number, derefs: readonly Deref[] = []): SockSample {
    const before = tcpNow(e.fd);
    const c = this.#cap.capture('sock', () => peek(e), derefs);
    const after = tcpNow(e.fd);
    if (!c) throw new GuessError('ERR_GUESS_NO_CAPTURE', `tcp:tcp_rcv_space_adjust did not fire for the guesser's read (${label})`);
    this.#sk.set(e, c.sk);
    return {
      label,
      socket: this.#id(e),
      protocol: 6,
      family: e.family === 4 ? 2 : 10,
      saddr: v4Part(e.local.addr),
      daddr: v4Part(e.remote.addr),
      sport: e.local.port,
      dport: e.remote.port,
      num: before.state === TCP_CLOSE ? 0 : e.local.port,
      netns: this.#netns,
      state: before.state,
      shutdown,
      tcp: { before, after },
      sk: c.sk,
      bytes: c.skBytes,
      faults: c.skFaults,
      derefs: derefs.map((d, i) => ({ ptrOff: d.ptrOff, bytes: c.derefs[i] })),
    };
  }

  async pair(family: Family): Promise<TcpPair> {
    const p = await tcpPair(this.#listeners.get(family)!);
    this.#pairs.push(p);
    await sendData(p.client, p.server, randomInt(100, 20000));
    await sendData(p.server, p.client, randomInt(100, 20000));
    return p;
  }

  /** Idle captures of both ends. */
  idle(p: TcpPair, derefs: readonly Deref[] = []): SockSample[] {
    return [this.sockSample(p.client, 'idle client', 0, derefs), this.sockSample(p.server, 'idle server', 0)];
  }

  /** Data written with MSG_MORE stays unsent: write_seq ahead of snd_nxt, snd_una and pushed_seq. */
  async more(p: TcpPair): Promise<SockSample[]> {
    const n = randomInt(50, 1000);
    socketSend(p.client.fd, payload(n), MSG_MORE);
    const s = this.sockSample(p.client, 'unsent (MSG_MORE)', 0);
    if (s.tcp!.before.notSent !== n) throw new GuessError('ERR_GUESS_SOCKET', `MSG_MORE: ${s.tcp!.before.notSent} bytes unsent, expected ${n}`);
    setNoDelay(p.client);
    p.client.sent += n;
    p.server.received += n;
    await until('the corked data to arrive', () => tcpNow(p.server.fd).inq >= p.server.received - p.server.readCount, WAIT_MS);
    return [s, this.sockSample(p.client, 'pushed', 0)];
  }

  /**
   * Retransmissions: segments "sent" under TCP_REPAIR never leave (snd_nxt
   * ahead of snd_una: captured). `probe`: two such segments and nothing after:
   * the loss probe retransmits the last one (not counted lost), the SACK for
   * it makes the first one lost and retransmitted. Else, twice: one such
   * segment followed by one sent for real, which arrives out of order: the
   * SACK makes the first one lost and retransmitted within a millisecond or
   * so. Between the two kinds total_retrans differs from tcp_sock.lost, and
   * it moves faster between captures than counters of time (chrono_stat, in
   * jiffies).
   */
  async retransmit(p: TcpPair, probe: boolean): Promise<SockSample[]> {
    const c = p.client;
    const out = [this.sockSample(c, 'before retransmissions', 0)];
    for (let i = 0; i < (probe ? 1 : 2); i++) {
      const sizes = Array.from({ length: probe ? 2 : 1 }, () => randomInt(100, 2000));
      const next = probe ? 0 : randomInt(100, 2000);
      const before = tcpNow(c.fd).totalRetrans;
      repair(c, true);
      try {
        repairQueue(c, TCP_SEND_QUEUE);
        for (const n of sizes) socketSend(c.fd, payload(n));
        repairQueue(c, TCP_RECV_QUEUE);
        if (i === 0) out.push(this.sockSample(c, 'in flight (TCP_REPAIR)', 0));
        repairQueue(c, TCP_NO_QUEUE);
      } finally {
        setSocketOption(c.fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);
      }
      if (next) {
        // Not held back by Nagle behind the segment that never left.
        setNoDelay(c);
        socketSend(c.fd, payload(next));
      }
      const total = sizes.reduce((a, b) => a + b, next);
      c.sent += total;
      p.server.received += total;
      await until('segments sent under TCP_REPAIR to be retransmitted and acked', () => {
        const t = tcpNow(c.fd);
        return t.totalRetrans > before && t.outq === 0;
      }, WAIT_MS);
      out.push(this.sockSample(c, probe ? 'retransmitted (loss probe)' : `retransmitted (SACK ${i + 1})`, 0));
    }
    return out;
  }

  /** TCP_REPAIR: data queued straight into the receive queue (rcv_nxt moves, no ACK: rcv_wup stays). The pair is unusable after. */
  repairRecv(p: TcpPair): SockSample {
    const c = p.client;
    repair(c, true);
    try {
      repairQueue(c, TCP_RECV_QUEUE);
      const n = randomInt(100, 3000);
      socketSend(c.fd, payload(n));
      c.received += n;
      return this.sockSample(c, 'queued (TCP_REPAIR)', 0);
    } finally {
      repairQueue(c, TCP_NO_QUEUE);
      repair(c, false);
    }
  }

  /**
   * A socket connected under TCP_REPAIR (no packet leaves): its sequence
   * counters set with TCP_QUEUE_SEQ, then urgent data "sent" (write_seq,
   * snd_nxt and snd_up move, snd_una stays; no RTT was ever measured) and
   * data queued straight into its receive queue (rcv_nxt moves; copied_seq
   * and rcv_wup stay). Every sequence counter has a value known exactly.
   * Then a read out of repair mode moves copied_seq alone.
   */
  repaired(family: Family): SockSample[] {
    const fd = tcpSocket(family);
    try {
      socketBind(fd, familyAddress(randomLoopback(), family), 0);
      const local = socketName(fd);
      // Reno keeps no private state: the congestion control's own copies of
      // sequence numbers (cubic's hystart end_seq) are then not snd_una here.
      setSocketOption(fd, IPPROTO_TCP, TCP_CONGESTION, 'reno');
      const write = randomInt(1, 0xffffffff);
      const rcv = randomInt(1, 0xffffffff);
      setSocketOption(fd, IPPROTO_TCP, TCP_REPAIR, 1);
      setSocketOption(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
      setSocketOption(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, write | 0);
      setSocketOption(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
      setSocketOption(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, rcv | 0);
      const remote = { addr: familyAddress(randomLoopback(), family), port: randomInt(1024, 65536) };
      socketConnect(fd, remote.addr, remote.port);
      const x = randomInt(1, 1000);
      const z = randomInt(2, 3000);
      setSocketOption(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
      socketSend(fd, payload(x), MSG_OOB);
      setSocketOption(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
      socketSend(fd, payload(z));
      const e: TcpEnd = { fd, family, local: { addr: local.address, port: local.port }, remote, sent: x, received: z, readCount: 0 };
      const a = this.sockSample(e, 'connected under TCP_REPAIR', 0);
      a.seqs = { writeSeq: (write + x) >>> 0, sndUna: write >>> 0, rcvNxt: (rcv + z) >>> 0, copiedSeq: rcv >>> 0 };
      // Its peer does not exist: a timer that fired meanwhile (a slow, emulated
      // machine) may have sent something and got it reset. Only an ESTABLISHED one is used.
      if (a.tcp!.after.state !== TCP_ESTABLISHED) return [];
      // Repair off without a window probe, then a real read: copied_seq moves,
      // the receive-space mark (rcvq_space.seq) does not (no RTT ever measured).
      setSocketOption(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);
      const k = randomInt(1, z);
      if (socketRecv(fd, Buffer.alloc(k)) !== k) throw new GuessError('ERR_GUESS_SOCKET', 'a read of data queued under TCP_REPAIR came back short');
      const b = this.sockSample(e, 'read after TCP_REPAIR', 0);
      b.seqs = { ...a.seqs, copiedSeq: (rcv + k) >>> 0 };
      return b.tcp!.before.state === TCP_ESTABLISHED && b.tcp!.after.state === TCP_ESTABLISHED ? [a, b] : [a];
    } finally {
      closeSync(fd);
    }
  }

  /**
   * shutdown(SHUT_WR) on the client: its FIN sent, not yet acked (the peer
   * delays that ACK to ride on its own FIN): FIN_WAIT1, 2; the server
   * CLOSE_WAIT, 1. Then the server's FIN: both CLOSE, 3.
   */
  async shutdowns(p: TcpPair): Promise<SockSample[]> {
    shutdownWrite(p.client);
    await until('the FIN to arrive', () => tcpNow(p.server.fd).state === TCP_CLOSE_WAIT, WAIT_MS);
    const out = [this.sockSample(p.client, 'shut down for writing', 2), this.sockSample(p.server, 'peer shut down', 1)];
    shutdownWrite(p.server);
    await until('both ends closed', () => tcpNow(p.client.fd).state === TCP_CLOSE && tcpNow(p.server.fd).state === TCP_CLOSE, WAIT_MS);
    out.push(this.sockSample(p.client, 'closed (client)', 3), this.sockSample(p.server, 'closed (server)', 3));
    return out;
  }

  /** A bound UDP socket on a random 127/8 address (IPv4-mapped for family 6), connected when `to` is given. */
  udp(family: Family, to?: { addr: string; port: number }): { fd: number; addr: string; port: number } {
    const addr = familyAddress(randomLoopback(), family);
    const { fd, port } = udpBound(family, addr);
    this.#udp.push(fd);
    if (to) socketConnect(fd, to.addr, to.port);
    return { fd, addr, port };
  }

  /** UDP captures: a connected socket's send, an unconnected socket's sendto (and, with kprobes, its msghdr and the sk_buff read by the peer). */
  udpSamples(family: Family, sockKind: CaptureKind | undefined, kprobes: { msghdr: boolean; skb: boolean }): Round {
    const socks: SockSample[] = [];
    const args: ArgSample[] = [];
    const peer = this.udp(family);
    const conn = this.udp(family, { addr: peer.addr, port: peer.port });
    const lone = this.udp(family);
    const fam = family === 4 ? 2 : 10;
    const sample = (u: typeof conn, c: ReturnType<Capturer['capture']>, label: string, connected: boolean): SockSample => {
      if (!c) throw new GuessError('ERR_GUESS_NO_CAPTURE', `no capture of the guesser's UDP send (${label})`);
      return {
        label,
        socket: `udp${family}#${++sockIds}`,
        protocol: 17,
        family: fam,
        saddr: v4Part(u.addr),
        daddr: connected ? v4Part(peer.addr) : '0.0.0.0',
        sport: u.port,
        dport: connected ? peer.port : 0,
        num: u.port,
        netns: this.#netns,
        state: connected ? TCP_ESTABLISHED : TCP_CLOSE,
        sk: c.sk,
        bytes: c.skBytes,
        faults: c.skFaults,
      };
    };
    if (sockKind) {
      const data = payload(randomInt(1, 200));
      socks.push(sample(conn, this.#cap.capture(sockKind, () => socketSend(conn.fd, data)), 'connected UDP send', true));
      socks.push(sample(lone, this.#cap.capture(sockKind, () => socketSendTo(lone.fd, data, peer.addr, peer.port)), 'unconnected UDP sendto', false));
    }
    if (kprobes.msghdr) {
      // msg_name points at a sockaddr on the kernel stack: read no more than a sockaddr_in6.
      const derefs = Array.from({ length: 16 }, (_, i) => ({ ptrOff: i * 8, fromArg: true, len: 28 }));
      const c = this.#cap.capture('msghdr', () => socketSendTo(lone.fd, payload(8), peer.addr, peer.port), derefs);
      if (!c) throw new GuessError('ERR_GUESS_NO_CAPTURE', 'kprobe udp_sendmsg did not fire for the guesser\'s sendto');
      // udpv6_sendmsg hands a v4-mapped destination to udp_sendmsg as a sockaddr_in.
      args.push({ kind: 'msghdr', label: 'sendto', sk: c.sk, bytes: c.argBytes, argFault: c.argFault, derefs: derefs.map((d, i) => ({ ptrOff: d.ptrOff, bytes: c.derefs[i] })), peer: { addr: v4Part(peer.addr), port: peer.port, family: 2 } });
    }
    if (kprobes.skb) {
      // The pointers of the first 256 bytes of the sk_buff, 16 per capture, two datagrams each.
      for (const [i, half] of [0, 0, 1, 1].entries()) {
        drain(peer.fd);
        const data = payload(randomInt(1, 300));
        // Every second datagram without a checksum: csum_start (the UDP
        // header's offset too, with a checksum left to the device) is not set.
        setSocketOption(conn.fd, SOL_SOCKET, SO_NO_CHECK, i % 2);
        socketSend(conn.fd, data);
        const derefs = Array.from({ length: 16 }, (_, i) => ({ ptrOff: (half * 16 + i) * 8, fromArg: true }));
        const c = this.#cap.capture('skb', () => socketRecv(peer.fd, Buffer.alloc(2048)), derefs);
        if (!c) throw new GuessError('ERR_GUESS_NO_CAPTURE', 'kprobe skb_consume_udp did not fire for the guesser\'s read');
        args.push({
          kind: 'skb',
          label: `datagram read (pointers ${half * 128}..${half * 128 + 127})`,
          sk: c.sk,
          bytes: c.argBytes,
          argFault: c.argFault,
          derefs: derefs.map((d, i) => ({ ptrOff: d.ptrOff, bytes: c.derefs[i] })),
          peer: { addr: v4Part(conn.addr), port: conn.port, family: fam },
          local: { addr: v4Part(peer.addr), port: peer.port },
          payload: data.length,
        });
      }
    }
    return { socks, args };
  }

  /** A struct socket capture (getsockname through inet_getname) of a TCP end captured before. */
  socketSample(e: TcpEnd): ArgSample | undefined {
    const sk = this.#sk.get(e);
    if (sk === undefined) return undefined;
    const c = this.#cap.capture('socket', () => socketName(e.fd));
    if (!c) throw new GuessError('ERR_GUESS_NO_CAPTURE', 'kprobe inet_getname did not fire for the guesser\'s getsockname');
    return { kind: 'socket', label: 'getsockname', sk, bytes: c.argBytes, argFault: c.argFault, derefs: [] };
  }

  close(): void {
    for (const p of this.#pairs) closePair(p);
    for (const fd of this.#udp) closeSync(fd);
    for (const l of this.#listeners.values()) l.close();
  }
}

