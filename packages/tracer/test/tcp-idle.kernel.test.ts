// An alive TCP connection is never expired for being idle (the seed's tracer
// dropped them); a record whose socket the kernel no longer has (its destroy
// was never seen) is found by the idle check against the kernel's socket
// table and delivered closed once, reason 'expired'. The stale record is
// made by writing a record for a connection that does not exist into the
// tracer's own socket map (bpftool), as a missed destroy would leave it; a
// second one names a connection the kernel holds in TIME_WAIT (its full
// socket destroyed: the state a missed destroy of an active close leaves),
// which must go at the next check, not when TIME_WAIT ends 60 s later.
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { closeSync, readdirSync, readFileSync } from 'node:fs';
import { abi, encodeTuple } from '@tracer-bpf/decode';
import { socketConnect, socketName, tcpInfo, tcpSocket } from '@tracer-bpf/loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NETNS } from './stories.js';
import type { Connection, Tracer } from '../src/index.js';
import { startTracer } from './backends.js';

const IN_VM = process.env.TRACER_BPF_KERNEL_CONFIG !== undefined;
const IDLE_MS = IN_VM ? 1500 : 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Ids of the BPF maps this process holds (its fds), with bpftool's name for each. */
function ownMaps(): { id: number; name: string; valueSize: number }[] {
  const ids = new Set<number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^map_id:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  // one bpftool run for all of them (a process start costs about a second in the emulated guests)
  const all = JSON.parse(execFileSync('bpftool', ['map', 'show', '-j'], { encoding: 'utf8' })) as { id: number; name: string; bytes_value: number }[];
  return all.filter((j) => ids.has(j.id)).map((j) => ({ id: j.id, name: j.name, valueSize: j.bytes_value }));
}

const hex = (b: Buffer): string[] => [...b].map((x) => x.toString(16).padStart(2, '0'));

/** Writes a socket record for 127.0.0.1:sport -> 127.0.0.1:dport, idle since boot, into the tracer's map (as a missed destroy leaves one). */
function staleRecord(map: { id: number; valueSize: number }, sk: bigint, sport: number, dport: number): void {
  const f = abi.structs.tcp_sock_rec.fields;
  const cs = abi.structs.conn_stats.fields;
  const value = Buffer.alloc(map.valueSize);
  encodeTuple({ source: '127.0.0.1', sport, dest: '127.0.0.1', dport, netns: NETNS, pid: 0, type: 'TCP' }).copy(value, f.tup.offset);
  value.writeBigUInt64LE(1n, f.slots.offset + cs.timestamp.offset);
  value.writeBigUInt64LE(1n, f.slots.offset + cs.start.offset);
  value.writeUInt32LE(process.pid, f.pids.offset);
  value[f.nslots.offset] = 1;
  value[f.live.offset] = 1;
  const key = Buffer.alloc(8);
  key.writeBigUInt64LE(sk);
  execFileSync('bpftool', ['map', 'update', 'id', String(map.id), 'key', 'hex', ...hex(key), 'value', 'hex', ...hex(value)]);
}

/** Local ports of this namespace's IPv4 TIME_WAIT entries (/proc/net/tcp, state 06). */
function timeWaitPorts(): number[] {
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c[3] === '06')
    .map((c) => Number.parseInt(c[1]!.split(':')[1]!, 16));
}

async function until(pred: () => boolean, what: string): Promise<void> {
  const end = Date.now() + (IN_VM ? 30_000 : 5_000);
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('TCP idle check', () => {
  // One tracer for the file (a start costs seconds in the emulated guests); each test looks at its own ports and counter deltas.
  let t: Tracer;
  beforeAll(async () => {
    t = await startTracer({ tcpIdleCheckMs: IDLE_MS, closedPollMs: 50 });
  });
  afterAll(() => t?.close());

  it('keeps an alive idle connection; a record the kernel has no socket for is delivered closed once, expired', async () => {
    const vanished = t.stats().tcpVanished;
    const srv = net.createServer((s) => s.on('data', () => s.write('pong')));
    let c: net.Socket | undefined;
    try {
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as net.AddressInfo).port;
      c = net.connect(port, '127.0.0.1');
      await new Promise<void>((r) => c!.once('connect', () => r()));
      c.write('ping');
      await new Promise<void>((r) => c!.once('data', () => r()));
      const clientPort = c.localPort!;

      // A connection closed by this end first: its 4-tuple stays in the table as TIME_WAIT.
      const tw = net.connect(port, '127.0.0.1');
      await new Promise<void>((r) => tw.once('connect', () => r()));
      const twPort = tw.localPort!;
      tw.on('data', () => {});
      await new Promise<void>((r) => {
        tw.once('close', () => r());
        tw.end();
      });
      const inTimeWait = (): boolean => timeWaitPorts().includes(twPort);
      await until(inTimeWait, 'TIME_WAIT of the closed connection');

      // A record for 127.0.0.1:1 -> 127.0.0.1:2, which no socket has, idle since boot,
      // and one for the TIME_WAIT connection, as if its destroy had been missed.
      const map = ownMaps().find((m) => m.name === 'sock_state');
      expect(map).toBeDefined();
      staleRecord(map!, 0xdeadbeef0n, 1, 2);
      staleRecord(map!, 0xdeadbeef1n, twPort, port);

      // Both are idle past the check: only the one the kernel does not have goes.
      const closed: Connection[] = [];
      const end = Date.now() + IDLE_MS * 6;
      let live: Connection[] = [];
      while (Date.now() < end) {
        const s = t.snapshot().toObjects();
        for (const x of s) if (x.closed !== undefined) closed.push(x);
        live = s.filter((x) => x.closed === undefined && x.protocol === 'tcp' && (x.localPort === clientPort || x.remotePort === clientPort));
        if (closed.some((x) => x.localPort === 1) && closed.some((x) => x.localPort === twPort) && Date.now() > end - IDLE_MS * 3) break;
        await sleep(100);
      }
      const fake = closed.filter((x) => x.localPort === 1 && x.remotePort === 2);
      expect(fake.map((x) => [x.closed, x.pid, x.localAddress, x.remoteAddress])).toEqual([['expired', process.pid, '127.0.0.1', '127.0.0.1']]);
      // gone although the kernel still lists its 4-tuple (TIME_WAIT); beside it, the real
      // socket's own close record, delivered at its destroy
      const timeWait = closed.filter((x) => x.localPort === twPort && x.remotePort === port);
      expect(timeWait.map((x) => [x.closed, x.pid]).sort()).toEqual([['destroyed', process.pid], ['expired', process.pid]]);
      expect(inTimeWait()).toBe(true);
      expect(t.stats().tcpVanished - vanished).toBe(2);
      // the real connection, idle as long, is alive: still there, both ends, not closed
      expect(live.map((x) => x.localPort).sort()).toEqual([clientPort, port].sort());
      expect(closed.filter((x) => x.localPort === clientPort || x.remotePort === clientPort)).toEqual([]);
      c.destroy();
    } finally {
      c?.destroy(); // also when an expectation failed: the server's close waits for it
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('a socket reset but held open past the check is delivered closed once: expired, and its later destroy adds nothing', async () => {
    // A client socket the peer resets: CLOSE, unlisted in /proc/net/tcp, but its owner keeps the
    // descriptor (a raw one here: Node's sockets close themselves on a reset) past the idle check.
    const before = t.stats();
    const srv = net.createServer((s) => s.resetAndDestroy());
    let fd: number | undefined;
    try {
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as net.AddressInfo).port;
      fd = tcpSocket(4);
      socketConnect(fd, '127.0.0.1', port);
      const TCP_CLOSE = 7;
      await until(() => tcpInfo(fd!)[0] === TCP_CLOSE, 'the reset (TCP_CLOSE)');
      const clientPort = socketName(fd).port;
      const ours = (x: Connection): boolean => x.protocol === 'tcp' && x.localPort === clientPort && x.remotePort === port;
      const closed: Connection[] = [];
      const collect = (): void => {
        for (const x of t.snapshot().toObjects()) if (x.closed !== undefined && ours(x)) closed.push(x);
      };
      const end = Date.now() + IDLE_MS * 6;
      while (closed.length === 0 && Date.now() < end) {
        collect();
        await sleep(100);
      }
      expect(closed.map((x) => [x.closed, x.pid])).toEqual([['expired', process.pid]]);
      expect(t.stats().tcpVanished - before.tcpVanished).toBe(1);
      // the owner closes it now: the kernel destroys the socket, and its record is no second close
      closeSync(fd);
      fd = undefined;
      // the destroy's record comes and is dropped (counted); a little longer for anything after it
      await until(() => t.stats().tcpExpiredThenDestroyed > before.tcpExpiredThenDestroyed, 'the record of the destroy');
      await sleep(300);
      collect();
      expect(closed.map((x) => [x.closed, x.pid, x.sentBytes, x.recvBytes])).toEqual([['expired', process.pid, 0, 0]]);
      expect(t.stats().tcpExpiredThenDestroyed - before.tcpExpiredThenDestroyed).toBe(1);
    } finally {
      if (fd !== undefined) closeSync(fd);
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});
