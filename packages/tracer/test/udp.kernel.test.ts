// UDP user stories through the public API, loopback only: known datagrams
// each way, and exactly one entry per (local, remote, pid) on each side with
// exact bytes and datagrams, the right addresses, direction, assured, netns
// and pid. A UDP "connection" is (local addr, local port, remote addr, remote
// port, pid); an unconnected socket carries its bound local address (the
// wildcard when unbound), and a dual-stack socket talking to an IPv4-mapped
// peer is reported as IPv4.
//
// Every test runs on the four backends. Kernels before 6.3 have no
// sock_send_length / sock_recv_length: there `info.perCall` is false for the
// tracepoint backends, which do not count UDP at all. Every test below then
// asserts exactly that (no entry on the test's ports) rather than skipping:
// the same traffic runs, the expectation changes. The fentry and kprobe
// backends count every datagram on every kernel, read unconnected peers
// from the kernel's copies (no syscall programs), and end a connected
// socket's flow when it is destroyed. Where this kernel cannot run a
// backend (the dev host: no kprobes, fentry refused), its refusal is the test.
import dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cProgram } from './c-programs.js';
import { ALL_BACKENDS, hooked, refusedHere, sharedTracer, startOrRefused } from './backends.js';
import { byPort, NETNS, shape } from './stories.js';
import { type Connection, type Tracer, type TracerOptions } from '../src/index.js';

/** Run f with a tracer on opts.backend, closed after; where this kernel cannot run the backend, its refusal is the test. */
async function withTracer(opts: TracerOptions & { backend: (typeof ALL_BACKENDS)[number] }, f: (t: Tracer) => Promise<void>): Promise<void> {
  const t = await startOrRefused(opts);
  if (!t) return;
  try {
    await f(t);
  } finally {
    t.close();
  }
}

const run = promisify(execFile);
// A slow QEMU guest of the matrix: a tenth of the traffic.
const SCALE = process.env.TRACER_BPF_KERNEL_CONFIG ? 0.1 : 1;
const K = Math.max(2, Math.round(40 * SCALE));
const M = Math.max(4, Math.round(64 * SCALE));

const upSize = (i: number): number => 100 + 13 * i;
const downSize = (i: number): number => 7 + 29 * i;
const sum = (n: number, f: (i: number) => number): number => {
  let s = 0;
  for (let i = 0; i < n; i++) s += f(i);
  return s;
};

type Sock = dgram.Socket;
const bind = (s: Sock, address?: string): Promise<void> => new Promise((r) => s.bind({ port: 0, address }, () => r()));
const connect = (s: Sock, port: number, host: string): Promise<void> =>
  new Promise((r, j) => s.connect(port, host, (e?: Error) => (e ? j(e) : r())));
const closeSock = (s: Sock): Promise<void> => new Promise((r) => s.close(() => r()));
const portOf = (s: Sock): number => s.address().port;

/**
 * K rounds: A sends upSize(i), B answers downSize(i) (to its connected peer,
 * else to the datagram's source), A waits for the answer before the next.
 */
/** Two UDP sockets bound to 127.0.0.1, not connected. */
async function loopbackPair(): Promise<{ a: Sock; b: Sock; pa: number; pb: number }> {
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  await bind(a, '127.0.0.1');
  await bind(b, '127.0.0.1');
  return { a, b, pa: portOf(a), pb: portOf(b) };
}

async function pingPong(a: Sock, b: Sock, bTo: { port: number; host: string } | undefined, k: number, aSend: (buf: Buffer) => void): Promise<void> {
  let i = 0;
  b.on('message', (msg, rinfo) => {
    const reply = Buffer.alloc(downSize(i), 0x42);
    expect(msg.length).toBe(upSize(i));
    if (bTo === undefined) b.send(reply); // connected
    else b.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    a.on('error', reject);
    b.on('error', reject);
    a.on('message', (msg) => {
      expect(msg.length).toBe(downSize(i));
      i++;
      if (i === k) resolve();
      else aSend(Buffer.alloc(upSize(i), 0x41));
    });
    aSend(Buffer.alloc(upSize(0), 0x41));
  });
}

/** Entries of UDP flows whose local port is one of `ports`, in this netns. */
function udpOn(t: Tracer, ports: number[]): Connection[] {
  return t.snapshot().toObjects().filter((c) => c.protocol === 'udp' && c.netns === NETNS && ports.includes(c.localPort));
}

/**
 * Flows between these ports only: a flow of an earlier test (the shared tracer keeps it until
 * it expires) can hold one of them, since the kernel reuses ephemeral ports (seen once: a
 * stale flow on the peek test's port, 6.12 at one vCPU).
 */
function udpBetween(t: Tracer, ports: number[]): Connection[] {
  return udpOn(t, ports).filter((c) => ports.includes(c.remotePort));
}

interface Case {
  name: string;
  /** Create and set up A (the side that sends first) and B; return how A sends and how B answers. */
  setup(): Promise<{ a: Sock; b: Sock; aSend: (buf: Buffer) => void; bTo: { port: number; host: string } | undefined }>;
  family: 'ipv4' | 'ipv6';
  aLocal: string;
  bLocal: string;
  /** The address each side sees the other at. */
  aSeesB: string;
  bSeesA: string;
  /** Connected sides: their flow ends with a close record when the socket is destroyed (fentry and kprobe backends hook UDP destroy). */
  connected: { a: boolean; b: boolean };
}

const CASES: Case[] = [
  {
    name: 'UDPv4, both connected (connect then send)',
    connected: { a: true, b: true },
    family: 'ipv4',
    aLocal: '127.0.0.1', // connect() sets the local address of an unbound socket
    bLocal: '127.0.0.1',
    aSeesB: '127.0.0.1',
    bSeesA: '127.0.0.1',
    async setup() {
      const a = dgram.createSocket('udp4');
      const b = dgram.createSocket('udp4');
      await bind(b, '127.0.0.1');
      await connect(a, portOf(b), '127.0.0.1');
      await connect(b, portOf(a), '127.0.0.1');
      return { a, b, aSend: (buf) => a.send(buf), bTo: undefined };
    },
  },
  {
    name: 'UDPv4, unconnected: an unbound sender sends to an address, the receiver answers the source',
    connected: { a: false, b: false },
    family: 'ipv4',
    aLocal: '0.0.0.0', // unbound: the wildcard
    bLocal: '127.0.0.1',
    aSeesB: '127.0.0.1',
    bSeesA: '127.0.0.1',
    async setup() {
      const a = dgram.createSocket('udp4');
      const b = dgram.createSocket('udp4');
      await bind(b, '127.0.0.1');
      await bind(a); // 0.0.0.0, so that A's port is known before the first send
      const pb = portOf(b);
      return { a, b, aSend: (buf) => a.send(buf, pb, '127.0.0.1'), bTo: { port: 0, host: '' } };
    },
  },
  {
    name: 'UDPv6 over ::1, unconnected both ways',
    connected: { a: false, b: false },
    family: 'ipv6',
    aLocal: '::1',
    bLocal: '::1',
    aSeesB: '::1',
    bSeesA: '::1',
    async setup() {
      const a = dgram.createSocket('udp6');
      const b = dgram.createSocket('udp6');
      await bind(b, '::1');
      await bind(a, '::1');
      const pb = portOf(b);
      return { a, b, aSend: (buf) => a.send(buf, pb, '::1'), bTo: { port: 0, host: '' } };
    },
  },
  {
    name: 'UDPv6 over ::1, connected sender, unconnected receiver',
    connected: { a: true, b: false },
    family: 'ipv6',
    aLocal: '::1',
    bLocal: '::1',
    aSeesB: '::1',
    bSeesA: '::1',
    async setup() {
      const a = dgram.createSocket('udp6');
      const b = dgram.createSocket('udp6');
      await bind(b, '::1');
      await connect(a, portOf(b), '::1');
      return { a, b, aSend: (buf) => a.send(buf), bTo: { port: 0, host: '' } };
    },
  },
  {
    name: "IPv4-mapped, connected: a dual-stack socket bound to '::' connects to ::ffff:127.0.0.1",
    connected: { a: true, b: false },
    family: 'ipv4',
    // connect() gives the dual-stack socket the mapped local address ::ffff:127.0.0.1
    aLocal: '127.0.0.1',
    bLocal: '127.0.0.1',
    aSeesB: '127.0.0.1',
    bSeesA: '127.0.0.1',
    async setup() {
      const a = dgram.createSocket({ type: 'udp6', ipv6Only: false });
      const b = dgram.createSocket('udp4');
      await bind(b, '127.0.0.1');
      await bind(a, '::');
      await connect(a, portOf(b), '::ffff:127.0.0.1');
      return { a, b, aSend: (buf) => a.send(buf), bTo: { port: 0, host: '' } };
    },
  },
  {
    name: "IPv4-mapped, sendto: a dual-stack socket bound to '::' sends to ::ffff:127.0.0.1",
    connected: { a: false, b: false },
    family: 'ipv4',
    aLocal: '0.0.0.0', // bound to '::', reported as IPv4: the wildcard 0.0.0.0
    bLocal: '127.0.0.1',
    aSeesB: '127.0.0.1',
    bSeesA: '127.0.0.1',
    async setup() {
      const a = dgram.createSocket({ type: 'udp6', ipv6Only: false });
      const b = dgram.createSocket('udp4');
      await bind(b, '127.0.0.1');
      await bind(a, '::');
      const pb = portOf(b);
      return { a, b, aSend: (buf) => a.send(buf, pb, '::ffff:127.0.0.1'), bTo: { port: 0, host: '' } };
    },
  },
];

const bin = (name: string): string => cProgram(name);

describe.each(ALL_BACKENDS)('UDP on backend %s', (backend) => {
  if (refusedHere(backend)) return;
  const shared = sharedTracer({ backend, udpPeers: true });
  describe.each(CASES)('$name', (c) => {
    it(`${K} datagrams each way: one entry per side, exact counts`, async () => {
      await shared(async (t) => {
        expect(t.info.udpPeers).toBe(t.info.perCall);
        const { a, b, aSend, bTo } = await c.setup();
        const pa = portOf(a);
        const pb = portOf(b);
        try {
          await pingPong(a, b, bTo, K, aSend);
        } finally {
          await closeSock(a);
          await closeSock(b);
        }
        const mine = udpOn(t, [pa, pb]).map(shape).sort(byPort);
        if (!t.info.perCall) {
          // Before 6.3 this backend has no per-call UDP hook: nothing is counted.
          expect(mine).toEqual([]);
          return;
        }
        const common = { protocol: 'udp', family: c.family, pid: process.pid, netns: NETNS, assured: true, tcp: undefined } as const;
        // fentry/kprobe: a connected socket's close ends its flow (a close record); else flows end by idle expiry.
        const closed = (side: boolean): 'destroyed' | undefined => (hooked(backend) && side ? 'destroyed' : undefined);
        const k = (K);
        expect(mine).toEqual(
          [
            {
              ...common,
              closed: closed(c.connected.a),
              localAddress: c.aLocal,
              localPort: pa,
              remoteAddress: c.aSeesB,
              remotePort: pb,
              direction: 'outgoing',
              sentBytes: sum(K, upSize),
              recvBytes: sum(K, downSize),
              sentPackets: k,
              recvPackets: k,
            },
            {
              ...common,
              closed: closed(c.connected.b),
              localAddress: c.bLocal,
              localPort: pb,
              remoteAddress: c.bSeesA,
              remotePort: pa,
              direction: 'incoming',
              sentBytes: sum(K, downSize),
              recvBytes: sum(K, upSize),
              sentPackets: k,
              recvPackets: k,
            },
          ].sort(byPort),
        );
      });
    });
  });

  it(`udpPeers 'auto' (the default): the syscall programs attach at the snapshot after a peer is missed, and later datagrams have their peer`, async () => {
    // The poll timer is kept out of the way (it would attach in the middle of
    // the first exchange on a slow machine): the snapshot below brings them in.
    await withTracer({ backend, closedPollMs: 60_000 }, async (t) => {
      // fentry/kprobe read the peer from the kernel's own copies: no syscall programs, nothing missed.
      const always = hooked(backend);
      expect(t.info.udpPeersOnDemand).toBe(t.info.perCall && !always);
      expect(t.info.programs.some((p) => p.startsWith('sys_'))).toBe(t.info.udpPeersOnDemand);
      expect(t.stats().udpPeersAttached).toBe(false);
      const { a, b, pa, pb } = await loopbackPair();
      const exchange = (n: number): Promise<void> =>
        new Promise<void>((resolve) => {
          let got = 0;
          const onMessage = (): void => {
            if (++got === n) {
              b.off('message', onMessage);
              resolve();
            }
          };
          b.on('message', onMessage);
          for (let i = 0; i < n; i++) a.send(Buffer.alloc(upSize(i)), pb, '127.0.0.1');
        });
      try {
        // One unconnected datagram: its peer is missed, which brings the syscall programs in.
        await exchange(1);
        if (!t.info.perCall) {
          expect(t.stats().udpPeersAttached).toBe(false);
          return;
        }
        // fentry/kprobe: nothing was missed
        if (always) expect(t.stats().kernel.udpAddrMissing).toBe(0n);
        t.snapshot().toObjects();
        expect(t.stats().udpPeersAttached).toBe(!always);
        expect(t.stats().udpPeersError).toBeUndefined();
        const missing = t.stats().kernel.udpAddrMissing;
        await exchange(K);
        expect(t.stats().kernel.udpAddrMissing).toBe(missing);
      } finally {
        await closeSock(a);
        await closeSock(b);
      }
      const mine = udpOn(t, [pa, pb]).map(shape);
      const flow = (local: number, remote: number) => mine.filter((c) => c.localPort === local && c.remotePort === remote);
      if (always) {
        // every datagram, the first one too, with its peer
        expect(flow(pa, pb).map((c) => [c.remoteAddress, c.sentPackets, c.sentBytes])).toEqual([['127.0.0.1', (K + 1), sum(K + 1, (i) => upSize(i === 0 ? 0 : i - 1))]]);
        expect(flow(pb, pa).map((c) => [c.remoteAddress, c.recvPackets, c.recvBytes])).toEqual([['127.0.0.1', (K + 1), sum(K + 1, (i) => upSize(i === 0 ? 0 : i - 1))]]);
        expect(mine.filter((c) => c.remotePort === 0)).toEqual([]);
        return;
      }
      // before: the unspecified peer, one datagram each way of the first exchange
      expect(flow(pa, 0).map((c) => [c.remoteAddress, c.sentPackets, c.sentBytes])).toEqual([['0.0.0.0', 1, (upSize(0))]]);
      expect(flow(pb, 0).map((c) => [c.remoteAddress, c.recvPackets, c.recvBytes])).toEqual([['0.0.0.0', 1, (upSize(0))]]);
      // after: every datagram with its peer
      expect(flow(pa, pb).map((c) => [c.remoteAddress, c.sentPackets, c.sentBytes])).toEqual([['127.0.0.1', (K), sum(K, upSize)]]);
      expect(flow(pb, pa).map((c) => [c.remoteAddress, c.recvPackets, c.recvBytes])).toEqual([['127.0.0.1', (K), sum(K, upSize)]]);
    });
  });

  it(`udpPeers: false: an unconnected flow has the unspecified peer, udpAddrMissing grows by exactly the datagram count (fentry, kprobe: the peer is known anyway)`, async () => {
    await withTracer({ backend, udpPeers: false }, async (t) => {
      const always = hooked(backend);
      expect(t.info.udpPeers).toBe(always);
      // no syscall tracepoint is loaded
      expect(t.info.programs.filter((p) => p.startsWith('sys_'))).toEqual([]);
      // A: unconnected, bound to 127.0.0.1. B: connected to A (its receives and sends know the peer).
      const { a, b, pa, pb } = await loopbackPair();
      await connect(b, pa, '127.0.0.1');
      const missing0 = t.stats().kernel.udpAddrMissing;
      // Phase 1: A sends K datagrams to B (K unconnected sends).
      let got = 0;
      await new Promise<void>((resolve) => {
        b.on('message', () => {
          if (++got === K) resolve();
        });
        for (let i = 0; i < K; i++) a.send(Buffer.alloc(upSize(i)), pb, '127.0.0.1');
      });
      const missing1 = t.stats().kernel.udpAddrMissing;
      // Phase 2: B answers K datagrams (K unconnected receives on A).
      let back = 0;
      await new Promise<void>((resolve) => {
        a.on('message', () => {
          if (++back === K) resolve();
        });
        for (let i = 0; i < K; i++) b.send(Buffer.alloc(downSize(i)));
      });
      const missing2 = t.stats().kernel.udpAddrMissing;
      await closeSock(a);
      await closeSock(b);
      const mine = udpOn(t, [pa, pb]).map(shape).sort(byPort);
      if (!t.info.perCall) {
        expect(mine).toEqual([]);
        expect(missing2 - missing0).toBe(0n);
        return;
      }
      expect(missing1 - missing0).toBe(always ? 0n : BigInt(K));
      expect(missing2 - missing1).toBe(always ? 0n : BigInt(K));
      const common = { protocol: 'udp', family: 'ipv4', pid: process.pid, netns: NETNS, assured: true, tcp: undefined } as const;
      expect(mine).toEqual(
        [
          {
            ...common,
            closed: undefined,
            localAddress: '127.0.0.1',
            localPort: pa,
            remoteAddress: always ? '127.0.0.1' : '0.0.0.0',
            remotePort: always ? pb : 0,
            direction: 'outgoing',
            sentBytes: sum(K, upSize),
            recvBytes: sum(K, downSize),
            sentPackets: (K),
            recvPackets: (K),
          },
          {
            ...common,
            // B is connected: with fentry/kprobe its close ends the flow
            closed: always ? 'destroyed' : undefined,
            localAddress: '127.0.0.1',
            localPort: pb,
            remoteAddress: '127.0.0.1',
            remotePort: pa,
            direction: 'incoming',
            sentBytes: sum(K, downSize),
            recvBytes: sum(K, upSize),
            sentPackets: (K),
            recvPackets: (K),
          },
        ].sort(byPort),
      );
    });
  });

  // C programs (sendmmsg/recvmmsg, MSG_PEEK), on the same shared tracer.
  describe('from C programs', () => {
    it(`one sendmmsg of ${M} datagrams to two unconnected peers, recvmmsg on each side: exact per-peer counts`, async () => {
      await shared(async (t) => {
        const { stdout } = await run(bin('udp_mmsg'), [String(M)], { timeout: 30_000 });
        const r = JSON.parse(stdout) as { pid: number; sender: number; peers: [number, number]; count: [number, number]; sent: [number, number]; got: [number, number]; back: [number, number] };
        // The program's own view of what went where (message i to peer i % 2, 10 + 3i bytes; reply j of peer p: 100(p+1) + j bytes).
        const share = [Math.ceil(M / 2), Math.floor(M / 2)];
        const sentTo = [0, 1].map((p) => sum(M, (i) => (i % 2 === p ? 10 + 3 * i : 0)));
        const replies = [0, 1].map((p) => sum(share[p]!, (j) => 100 * (p + 1) + j));
        expect(r.count).toEqual(share);
        expect(r.sent).toEqual(sentTo);
        expect(r.got).toEqual(sentTo);
        expect(r.back).toEqual(replies);
        const mine = udpBetween(t, [r.sender, ...r.peers]).map(shape).sort((x, y) => x.localPort - y.localPort || x.remotePort - y.remotePort);
        if (!t.info.perCall) {
          expect(mine).toEqual([]);
          return;
        }
        const common = { protocol: 'udp', family: 'ipv4', pid: r.pid, netns: NETNS, assured: true, closed: undefined, tcp: undefined, localAddress: '127.0.0.1', remoteAddress: '127.0.0.1' } as const;
        const want = [0, 1].flatMap((p) => [
          { ...common, localPort: r.sender, remotePort: r.peers[p]!, direction: 'outgoing', sentBytes: sentTo[p], recvBytes: replies[p], sentPackets: (share[p]!), recvPackets: (share[p]!) },
          { ...common, localPort: r.peers[p]!, remotePort: r.sender, direction: 'incoming', sentBytes: replies[p], recvBytes: sentTo[p], sentPackets: (share[p]!), recvPackets: (share[p]!) },
        ]);
        expect(mine).toEqual(want.sort((x, y) => x.localPort - y.localPort || x.remotePort - y.remotePort));
      });
    });

    it('MSG_PEEK (recvfrom and recvmsg) is not counted', async () => {
      await shared(async (t) => {
        const { stdout } = await run(bin('udp_peek'), [], { timeout: 30_000 });
        const r = JSON.parse(stdout) as { pid: number; a: number; b: number; calls: number[] };
        // send 100, peek 100, peek 100, read 100, answer 50, peek 50, read 50
        expect(r.calls).toEqual([100, 100, 100, 100, 50, 50, 50]);
        const mine = udpBetween(t, [r.a, r.b]).map(shape).sort(byPort);
        if (!t.info.perCall) {
          expect(mine).toEqual([]);
          return;
        }
        const common = { protocol: 'udp', family: 'ipv4', pid: r.pid, netns: NETNS, assured: true, closed: undefined, tcp: undefined, localAddress: '127.0.0.1', remoteAddress: '127.0.0.1' } as const;
        expect(mine).toEqual(
          [
            { ...common, localPort: r.a, remotePort: r.b, direction: 'outgoing', sentBytes: 100, recvBytes: 50, sentPackets: 1, recvPackets: 1 },
            { ...common, localPort: r.b, remotePort: r.a, direction: 'incoming', sentBytes: 50, recvBytes: 100, sentPackets: 1, recvPackets: 1 },
          ].sort(byPort),
        );
      });
    });
  });
});
