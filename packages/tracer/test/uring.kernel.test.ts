// io_uring, through the public API: a C client (test/c/uring_io.c, liburing
// linked statically) moves every byte of its sockets with io_uring requests;
// the other end is this process (plain Node sockets).
// - TCP (IORING_OP_SEND in 4 SQEs, IORING_OP_RECV to the end): both ends
//   exact, closed once. TCP bytes come from the sequence counters, so the
//   I/O path does not matter.
// - connected UDP (IORING_OP_SEND / IORING_OP_RECV): exact bytes and
//   datagrams each way, the peer known (it is in the socket), no
//   udpAddrMissing.
// - unconnected UDP (IORING_OP_SENDMSG with msg_name / IORING_OP_RECVMSG):
//   this is the listed limit (README, "UDP peer of unconnected sockets":
//   unknown for io_uring). Peers of unconnected sockets come from the
//   send/recv syscall tracepoints, and an io_uring request is no such
//   syscall: the C side's flow is counted exactly but with the unspecified
//   peer (0.0.0.0, port 0), and stats().kernel.udpAddrMissing grows by
//   exactly the number of datagrams it sent and received through io_uring.
//   The Node side (recvmsg/sendmsg syscalls) knows its peer.
// The fentry and kprobe backends hook udp_sendmsg and skb_consume_udp, which
// io_uring's requests reach too: there the io_uring side has its peer and
// nothing is missed, and the connected C socket's flow ends with a close
// record when the program exits.
// Kernels before 6.3 (info.perCall false): the tracepoint backends do not
// count UDP, so no UDP entry is asserted there; TCP is exact at close.
// A kernel without io_uring (io_uring_disabled = 2, or no io_uring in the
// kernel) fails io_uring_setup(): every test then asserts exactly that errno
// (EPERM, ENOSYS) instead of passing silently.
import dgram from 'node:dgram';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { cProgram } from './c-programs.js';
import { ALL_BACKENDS, hooked, refusedHere, sharedTracer } from './backends.js';
import { byPort, NETNS, shape } from './stories.js';
import type { Connection, Tracer } from '../src/index.js';

const run = promisify(execFile);
// A slow QEMU guest of the matrix: a tenth of the traffic.
const SCALE = process.env.TRACER_BPF_KERNEL_CONFIG ? 0.1 : 1;
const IN_VM = SCALE !== 1;
const K = Math.max(2, Math.round(40 * SCALE));
const TCP_UP = Math.round(100_000 * SCALE) + 7;
const TCP_DOWN = Math.round(300_000 * SCALE) + 13;

const upSize = (i: number): number => 100 + 13 * i; // what uring_io sends in round i
const downSize = (i: number): number => 7 + 29 * i; // what this process answers
const sum = (n: number, f: (i: number) => number): number => {
  let s = 0;
  for (let i = 0; i < n; i++) s += f(i);
  return s;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What io_uring_setup() must return here: 0, or the errno of a kernel that refuses it. */
function expectedUringErrno(): { errno: number; why: string } {
  const sysctl = '/proc/sys/kernel/io_uring_disabled'; // 6.6+
  const disabled = existsSync(sysctl) ? Number(readFileSync(sysctl, 'utf8').trim()) : 0;
  if (disabled === 2) return { errno: constants.errno.EPERM, why: `${sysctl} = 2` };
  if (disabled === 1 && process.getuid?.() !== 0) return { errno: constants.errno.EPERM, why: `${sysctl} = 1 and not root` };
  // CONFIG_IO_URING=n leaves only the sys_ni stubs (__x64_sys_io_uring_*): look for the implementation.
  const inKernel = readFileSync('/proc/kallsyms', 'utf8')
    .split('\n')
    .some((l) => /^\S+ [tT] io_uring_\w+$/.test(l));
  if (!inKernel) return { errno: constants.errno.ENOSYS, why: 'no io_uring_* function in /proc/kallsyms (CONFIG_IO_URING off)' };
  return { errno: 0, why: `io_uring built in, ${sysctl} = ${existsSync(sysctl) ? disabled : 'absent'}` };
}


/** Run uring_io; a refused io_uring_setup() exits 3 with {"uringErrno":E}. */
async function uring<T>(args: string[]): Promise<({ uringErrno: number } & Partial<T>) | ({ uringErrno?: undefined } & T)> {
  try {
    const { stdout } = await run(cProgram('uring_io'), args, { timeout: IN_VM ? 120_000 : 30_000 });
    return JSON.parse(stdout) as T & { uringErrno?: undefined };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (err.code === 3 && err.stdout) return JSON.parse(err.stdout) as { uringErrno: number };
    throw new Error(`uring_io ${args.join(' ')} failed (exit ${err.code}): ${err.stdout ?? ''} ${err.stderr ?? ''}`);
  }
}

const bindUdp = (s: dgram.Socket): Promise<void> => new Promise((r) => s.bind({ port: 0, address: '127.0.0.1' }, () => r()));
const closeUdp = (s: dgram.Socket): Promise<void> => new Promise((r) => s.close(() => r()));

/** A UDP socket on 127.0.0.1 answering datagram i (upSize(i) bytes, checked) with downSize(i) bytes to its source. */
async function echoServer(): Promise<{ s: dgram.Socket; port: number; seen: () => number }> {
  const s = dgram.createSocket('udp4');
  await bindUdp(s);
  let i = 0;
  s.on('message', (msg, rinfo) => {
    expect(msg.length).toBe(upSize(i));
    s.send(Buffer.alloc(downSize(i), 0x42), rinfo.port, rinfo.address);
    i++;
  });
  return { s, port: s.address().port, seen: () => i };
}

let want: { errno: number; why: string };
beforeAll(async () => {
  want = expectedUringErrno();
  const { stdout } = await run(cProgram('uring_io'), ['probe']);
  // io_uring_setup() as the kernel says it should go: 0 here, or exactly the refusal.
  expect({ ...(JSON.parse(stdout) as { errno: number }), why: want.why }).toEqual({ errno: want.errno, why: want.why });
});

describe.each(ALL_BACKENDS)('io_uring on backend %s', (backend) => {
  if (refusedHere(backend)) return;
  const shared = sharedTracer({ backend, closedPollMs: 50, udpPeers: true });
  it(`TCP: ${TCP_UP} bytes up in 4 IORING_OP_SEND SQEs, ${TCP_DOWN} down by IORING_OP_RECV: both ends exact, closed once`, async () => {
    await shared(async (t) => {
      expect(t.info.backend).toBe(backend);
      let serverGot = 0;
      const srv = net.createServer((s) => {
        s.on('data', (d) => {
          serverGot += d.length;
          if (serverGot === TCP_UP) s.end(Buffer.alloc(TCP_DOWN, 1));
        });
        s.on('error', () => {});
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const serverPort = (srv.address() as net.AddressInfo).port;
      type Tcp = { pid: number; port: number; sent: number; received: number; sendSqes: number; recvSqes: number };
      const r = await uring<Tcp>(['tcp', String(serverPort), String(TCP_UP), String(TCP_DOWN)]);
      await new Promise<void>((res) => srv.close(() => res()));
      if (want.errno !== 0) {
        expect(r.uringErrno).toBe(want.errno);
        return;
      }
      expect(r.uringErrno).toBeUndefined();
      const c = r as Tcp;
      expect([c.sent, c.received, serverGot]).toEqual([TCP_UP, TCP_DOWN, TCP_UP]);
      expect(c.sendSqes).toBeGreaterThanOrEqual(4);
      // Close records of both ends, then a few more snapshots: each end exactly once, nothing live.
      const closed: Connection[] = [];
      let live: Connection[] = [];
      const mine = (x: Connection): boolean =>
        x.protocol === 'tcp' && x.netns === NETNS && ((x.localPort === c.port && x.remotePort === serverPort) || (x.localPort === serverPort && x.remotePort === c.port));
      const poll = (): void => {
        const s = t.snapshot().toObjects().filter(mine);
        live = s.filter((x) => x.closed === undefined);
        closed.push(...s.filter((x) => x.closed !== undefined));
      };
      const end = Date.now() + (IN_VM ? 30_000 : 5_000);
      while (!(closed.some((x) => x.localPort === c.port) && closed.some((x) => x.localPort === serverPort))) {
        if (Date.now() > end) throw new Error(`no close records of ${c.port}<->${serverPort}: ${JSON.stringify(closed.map(shape), (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
        await sleep(20);
        poll();
      }
      await sleep(200);
      poll();
      expect(live).toEqual([]);
      const common = { protocol: 'tcp', family: 'ipv4', netns: NETNS, localAddress: '127.0.0.1', remoteAddress: '127.0.0.1', closed: 'destroyed' } as const;
      // Packets are not part of this expectation (segments: tcp.ts); bytes, ends, pid and close are.
      const ends = closed.map(({ protocol, family, pid, netns, localAddress, localPort, remoteAddress, remotePort, direction, sentBytes, recvBytes, closed: how }) => ({
        protocol, family, pid, netns, localAddress, localPort, remoteAddress, remotePort, direction, sentBytes, recvBytes, closed: how,
      }));
      expect(ends.sort(byPort)).toEqual(
        [
          { ...common, pid: c.pid, localPort: c.port, remotePort: serverPort, direction: 'outgoing', sentBytes: (TCP_UP), recvBytes: (TCP_DOWN) },
          { ...common, pid: process.pid, localPort: serverPort, remotePort: c.port, direction: 'incoming', sentBytes: (TCP_DOWN), recvBytes: (TCP_UP) },
        ].sort(byPort),
      );
      for (const x of closed) expect(x.tcp?.states).toContain('ESTABLISHED');
    });
  });

  type Udp = { pid: number; port: number; count: number; sent: number; received: number; badSource: number };

  /**
   * One run of the C client in `mode` against a Node echo server, with the
   * growth of udpAddrMissing over it; undefined when io_uring is refused here
   * (the expected errno is then asserted).
   */
  async function udpRun(t: Tracer, mode: 'udp' | 'udp-sendmsg'): Promise<{ c: Udp; srv: Awaited<ReturnType<typeof echoServer>>; missing: bigint } | undefined> {
    expect(t.info.backend).toBe(backend);
    const srv = await echoServer();
    const missing0 = t.stats().kernel.udpAddrMissing;
    let r;
    try {
      r = await uring<Udp>([mode, String(srv.port), String(K)]);
    } finally {
      await closeUdp(srv.s);
    }
    const missing = t.stats().kernel.udpAddrMissing - missing0;
    if (want.errno !== 0) {
      expect(r.uringErrno).toBe(want.errno);
      return undefined;
    }
    expect(r.uringErrno).toBeUndefined();
    return { c: r as Udp, srv, missing };
  }

  it(`connected UDP: ${K} rounds of IORING_OP_SEND / IORING_OP_RECV: exact bytes and datagrams each way, peers known`, async () => {
    await shared(async (t) => {
      const run = await udpRun(t, 'udp');
      if (!run) return;
      const { c, srv, missing } = run;
      expect({ count: c.count, sent: (c.sent), received: (c.received), seen: srv.seen() }).toEqual({ count: K, sent: sum(K, upSize), received: sum(K, downSize), seen: K });
      const ours = (x: Connection): boolean => x.protocol === 'udp' && x.netns === NETNS && (x.localPort === c.port || x.localPort === srv.port);
      let mine = t.snapshot().toObjects().filter(ours);
      if (hooked(backend) && t.info.perCall) {
        // The one asynchronous part of this expectation: the C socket's
        // destroy (udp_destroy_sock), and its close record. CI run 6 of stop
        // 21 failed this deep equal once on the 1-vCPU PREEMPT_RT guest (the
        // diff was not kept); a destroy that comes after the program's exit
        // (a reference held past close(s), e.g. by its io_uring context,
        // which a kernel worker tears down) would give exactly that. So wait
        // for the close record, bounded; a close record comes in one
        // snapshot only, so keep them. Counts are asserted as before.
        const closed = mine.filter((x) => x.closed !== undefined);
        const t0 = Date.now();
        const end = t0 + (IN_VM ? 30_000 : 5_000);
        let waits = 0;
        while (!closed.some((x) => x.localPort === c.port) && Date.now() < end) {
          waits++;
          await sleep(20);
          mine = t.snapshot().toObjects().filter(ours);
          closed.push(...mine.filter((x) => x.closed !== undefined));
        }
        // evidence for the next look: how late it was, when it was
        if (waits > 0) console.log(`uring connected UDP [${backend}]: the C socket's close record was not in the first snapshot after its exit: ${closed.some((x) => x.localPort === c.port) ? 'came' : 'not come'} after ${Date.now() - t0} ms`);
        mine = [...closed, ...mine.filter((x) => x.closed === undefined)];
      }
      if (!t.info.perCall) {
        // Before 6.3 this backend has no per-call UDP hook: nothing is counted.
        expect(mine).toEqual([]);
        expect(missing).toBe(0n);
        return;
      }
      expect(missing).toBe(0n); // a connected socket has its peer; the Node side's syscalls carry theirs
      const common = { protocol: 'udp', family: 'ipv4', netns: NETNS, localAddress: '127.0.0.1', remoteAddress: '127.0.0.1', assured: true, closed: undefined, tcp: undefined } as const;
      const k = (K);
      expect(mine.map(shape).sort(byPort)).toEqual(
        [
          // fentry/kprobe: the C program's connected socket was destroyed at its exit: its flow ended
          { ...common, closed: hooked(backend) ? 'destroyed' : undefined, pid: c.pid, localPort: c.port, remotePort: srv.port, direction: 'outgoing', sentBytes: sum(K, upSize), recvBytes: sum(K, downSize), sentPackets: k, recvPackets: k },
          { ...common, pid: process.pid, localPort: srv.port, remotePort: c.port, direction: 'incoming', sentBytes: sum(K, downSize), recvBytes: sum(K, upSize), sentPackets: k, recvPackets: k },
        ].sort(byPort),
      );
    });
  });

  it(`unconnected UDP: ${K} rounds of IORING_OP_SENDMSG (msg_name) / IORING_OP_RECVMSG: exact counts, unspecified peer, udpAddrMissing + ${2 * K} (the listed limit)`, async () => {
    await shared(async (t) => {
      const run = await udpRun(t, 'udp-sendmsg');
      if (!run) return;
      const { c, srv, missing } = run;
      // Every reply's msg_name (filled by IORING_OP_RECVMSG) was the server: the traffic itself is right.
      expect({ count: c.count, sent: (c.sent), received: (c.received), seen: srv.seen(), badSource: c.badSource }).toEqual({
        count: K,
        sent: sum(K, upSize),
        received: sum(K, downSize),
        seen: K,
        badSource: 0,
      });
      const mine = t
        .snapshot().toObjects()
        .filter((x) => x.protocol === 'udp' && x.netns === NETNS && (x.localPort === c.port || x.localPort === srv.port))
        .map(shape)
        .sort(byPort);
      if (!t.info.perCall) {
        expect(mine).toEqual([]);
        expect(missing).toBe(0n);
        return;
      }
      expect(t.info.udpPeers).toBe(true);
      // Tracepoint backends, the listed limit: K sends + K receives through io_uring on an
      // unconnected socket, none with a visible peer. fentry/kprobe: the kernel's copies have it.
      const always = hooked(backend);
      expect(missing).toBe(always ? 0n : BigInt(2 * K));
      const common = { protocol: 'udp', family: 'ipv4', netns: NETNS, localAddress: '127.0.0.1', assured: true, closed: undefined, tcp: undefined } as const;
      const k = (K);
      expect(mine).toEqual(
        [
          // the io_uring side: counted exactly, peer unknown (fentry/kprobe: known)
          { ...common, pid: c.pid, localPort: c.port, remoteAddress: always ? '127.0.0.1' : '0.0.0.0', remotePort: always ? srv.port : 0, direction: 'outgoing', sentBytes: sum(K, upSize), recvBytes: sum(K, downSize), sentPackets: k, recvPackets: k },
          // the syscall side: its recvmsg/sendmsg carry the peer
          { ...common, pid: process.pid, localPort: srv.port, remoteAddress: '127.0.0.1', remotePort: c.port, direction: 'incoming', sentBytes: sum(K, downSize), recvBytes: sum(K, upSize), sentPackets: k, recvPackets: k },
        ].sort(byPort),
      );
    });
  });
});
