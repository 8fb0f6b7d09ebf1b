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
import { closeSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { abi, encodeTuple } from '@tracer-bpf/decode';
import { socketBind, socketConnect, socketName, socketRecv, socketSend, tcpInfo, tcpSocket } from '@tracer-bpf/loader';
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

// The tracer keys a TCP socket's record in its sock_state map by the socket's
// kernel address, and a freed socket's address is soon another socket's (TCP
// sockets are SLAB_TYPESAFE_BY_RCU; the allocator hands the last freed object
// out first). A record left behind, because the socket's destroy was never
// seen or because the destroy's delete failed, must never be inherited by the
// next socket at that address: that socket would carry the old one's id,
// start, byte baseline and process, and its close would report the old one.
//
// Both leftovers are made from a real connection: its two records are read
// while it is live, it is reset (each end's close record comes), and the
// records are written back at their addresses (bpftool), the server end's as
// it was (a destroy never seen), the client end's marked dead (what a failed
// delete leaves). New connections are then made until sockets are born at
// both addresses.
const REC = abi.structs.tcp_sock_rec.fields;
const TUP = abi.structs.conn_tuple.fields;
const { TCP_REC_LIVE, TCP_REC_DEAD } = abi.enums.tcp_rec_live;
const PAIRS = 96;
/** Connections made between two reads of the map (a bpftool run costs about half a second in the emulated guests). */
const PAIRS_PER_DUMP = 4;

/** This process's sock_state map: id and value size. */
function sockStateMap(): { id: number; valueSize: number } {
  const own = ownMaps().filter((m) => m.name === 'sock_state');
  if (own.length !== 1) throw new Error(`expected one sock_state map of this process, found ${own.length}`);
  return own[0]!;
}

type Entry = { key: Buffer; value: Buffer; sport: number; dport: number };

/** Every entry of the map (one bpftool run: a process start costs about a second in the emulated guests). */
function dump(id: number): Entry[] {
  const rows = JSON.parse(execFileSync('bpftool', ['map', 'dump', 'id', String(id), '-j'], { encoding: 'utf8', maxBuffer: 1 << 28 })) as { key: string[]; value: string[] }[];
  return rows.map((r) => {
    const key = Buffer.from(r.key.map((x) => Number.parseInt(x, 16)));
    const value = Buffer.from(r.value.map((x) => Number.parseInt(x, 16)));
    const tup = REC.tup.offset;
    return { key, value, sport: value.readUInt16LE(tup + TUP.sport.offset), dport: value.readUInt16LE(tup + TUP.dport.offset) };
  });
}

const hexLine = (b: Buffer): string => hex(b).join(' ');

/** Writes entries into the map (one bpftool run). */
function write(id: number, entries: { key: Buffer; value: Buffer }[]): void {
  const file = join(tmpdir(), `tracer-bpf-stale-${process.pid}.txt`);
  writeFileSync(file, entries.map((e) => `map update id ${id} key hex ${hexLine(e.key)} value hex ${hexLine(e.value)}\n`).join(''));
  execFileSync('bpftool', ['batch', 'file', file]);
}

type Pair = { client: net.Socket; server: net.Socket; clientPort: number };

/** One connection to `srv`, `up` bytes sent by the client and `down` back, both read. */
async function pair(srv: net.Server, accepted: net.Socket[], up: number, down: number): Promise<Pair> {
  const port = (srv.address() as net.AddressInfo).port;
  const n = accepted.length;
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', () => r()));
  while (accepted.length === n) await sleep(1);
  const server = accepted[n]!;
  const got = (s: net.Socket, want: number): Promise<void> =>
    new Promise((r) => {
      let have = 0;
      const on = (d: Buffer): void => {
        have += d.length;
        if (have >= want) {
          s.off('data', on);
          r();
        }
      };
      s.on('data', on);
    });
  const serverGot = got(server, up);
  client.write(Buffer.alloc(up, 1));
  await serverGot;
  const clientGot = got(client, down);
  server.write(Buffer.alloc(down, 2));
  await clientGot;
  return { client, server, clientPort: client.localPort! };
}

/** Both ends reset (SO_LINGER {1, 0}: each destroyed within its close). */
function reset(p: Pair): void {
  p.client.resetAndDestroy();
  p.server.resetAndDestroy();
}

describe('a socket born at the address of a record left behind', () => {
  let t: Tracer;
  const closed: Connection[] = [];
  const live: Connection[][] = [];
  beforeAll(async () => {
    t = await startTracer({ closedPollMs: 50 });
  });
  afterAll(() => t?.close());

  const poll = (): Connection[] => {
    const s = t.snapshot().toObjects();
    for (const x of s) if (x.closed !== undefined) closed.push(x);
    const now = s.filter((x) => x.closed === undefined);
    live.push(now);
    return now;
  };
  const until = async (pred: () => boolean, what: string): Promise<void> => {
    const end = Date.now() + (IN_VM ? 30_000 : 5_000);
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
      poll();
    }
  };
  const ofPorts = (xs: Connection[], port: number, clientPort: number): Connection[] =>
    xs.filter((x) => x.protocol === 'tcp' && ((x.localPort === port && x.remotePort === clientPort) || (x.localPort === clientPort && x.remotePort === port)));

  it('starts afresh: the old record is sent once (never seen destroyed) or not again (dead), and every new connection is exact', async () => {
    const accepted: net.Socket[] = [];
    const srv = net.createServer((s) => accepted.push(s));
    const kernel0 = t.stats().kernel;
    try {
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as net.AddressInfo).port;
      const { id } = sockStateMap();

      // Connection A, live on both ends: its two records, read from the map.
      const a = await pair(srv, accepted, 100, 300);
      await until(() => ofPorts(live.at(-1) ?? [], port, a.clientPort).length === 2, "A's two ends live");
      const entries = dump(id);
      const serverEnd = entries.find((e) => e.sport === port && e.dport === a.clientPort);
      const clientEnd = entries.find((e) => e.sport === a.clientPort && e.dport === port);
      expect(serverEnd && clientEnd).toBeTruthy();
      reset(a);
      await until(() => ofPorts(closed, port, a.clientPort).length === 2, "A's two close records");
      expect(ofPorts(closed, port, a.clientPort).map((x) => x.closed)).toEqual(['destroyed', 'destroyed']);

      // Left behind: the server end's record as it was (its destroy never seen), the client end's dead (its delete failed).
      const dead = Buffer.from(clientEnd!.value);
      dead[REC.live.offset] = TCP_REC_DEAD;
      expect(serverEnd!.value[REC.live.offset]).toBe(TCP_REC_LIVE);
      write(id, [{ key: serverEnd!.key, value: serverEnd!.value }, { key: clientEnd!.key, value: dead }]);
      const written = live.length;

      // New connections, held open, until sockets were born at both addresses (bounded). The
      // allocator hands out the last object freed on the CPU first; held, each new socket takes
      // the next one, so an address freed late or on the other CPU is still reached.
      const made: { p: Pair; up: number; down: number }[] = [];
      let atServer: Entry | undefined;
      let atClient: Entry | undefined;
      for (let i = 0; i < PAIRS && !(atServer && atClient); i++) {
        const up = 1000 + i;
        const down = 2000 + i;
        const p = await pair(srv, accepted, up, down);
        made.push({ p, up, down });
        try {
          await until(() => ofPorts(live.at(-1) ?? [], port, p.clientPort).length === 2, `pair ${i} (client port ${p.clientPort}) live on both ends`);
        } catch (e) {
          // what the map holds instead, by key: [ports, live]
          const held = dump(id).map((x) => `${x.key.toString('hex')}: ${x.sport}->${x.dport} live ${x.value[REC.live.offset]}`);
          throw new Error(`${(e as Error).message}; left behind at ${serverEnd!.key.toString('hex')} (server end) and ${clientEnd!.key.toString('hex')} (client end); sock_state: ${held.join(', ')}`);
        }
        if ((i + 1) % PAIRS_PER_DUMP !== 0 && i !== PAIRS - 1) continue;
        const now = dump(id);
        atServer ??= now.find((e) => e.key.equals(serverEnd!.key) && e.value[REC.live.offset] === TCP_REC_LIVE && e.dport !== a.clientPort && e.sport !== a.clientPort);
        atClient ??= now.find((e) => e.key.equals(clientEnd!.key) && e.value[REC.live.offset] === TCP_REC_LIVE && e.dport !== a.clientPort && e.sport !== a.clientPort);
      }
      for (const { p } of made) reset(p);
      expect(atServer, `no socket was born at the server end's address in ${made.length} connections`).toBeDefined();
      expect(atClient, `no socket was born at the client end's address in ${made.length} connections`).toBeDefined();
      console.log(`sockets were born at both addresses within ${made.length} connection(s)`);
      for (const { p } of made) await until(() => ofPorts(closed, port, p.clientPort).length === 2, `the close records of ${p.clientPort}`);
      await sleep(300);
      poll();

      // A's server end: its destroy record, and the one sent when its address was taken (last activity as the close time).
      const aRecords = ofPorts(closed, port, a.clientPort);
      const aServer = aRecords.filter((x) => x.localPort === port);
      expect(aServer.map((x) => x.closed).sort()).toEqual(['destroyed', 'expired']);
      for (const x of aServer) expect([x.recvBytes, x.sentBytes, x.direction]).toEqual([100, 300, 'incoming']);
      // A's client end: once, at its destroy; never shown again while dead.
      expect(aRecords.filter((x) => x.localPort === a.clientPort).map((x) => x.closed)).toEqual(['destroyed']);
      const after = t.stats();
      expect(after.kernel.tcpEntryReplaced - kernel0.tcpEntryReplaced).toBe(1n);
      for (const snap of live.slice(written)) expect(ofPorts(snap, port, a.clientPort).filter((x) => x.localPort === a.clientPort)).toEqual([]);

      // Every new connection: each end exactly once, its own bytes, born now (not seen late), outgoing / incoming.
      for (const { p, up, down } of made) {
        const rs = ofPorts(closed, port, p.clientPort);
        const shape = rs
          .map((x) => [x.localPort === port ? 'server' : 'client', x.closed, x.direction, x.sentBytes, x.recvBytes, x.seenLate, x.pid])
          .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
        expect(shape).toEqual([
          ['client', 'destroyed', 'outgoing', up, down, false, process.pid],
          ['server', 'destroyed', 'incoming', down, up, false, process.pid],
        ]);
        for (const x of rs) expect(x.start).toBeGreaterThan(aServer[0]!.lastUpdate);
        expect(new Set(rs.map((x) => x.id)).size).toBe(2);
        for (const x of rs) expect(aServer.map((y) => y.id)).not.toContain(x.id);
      }
    } finally {
      for (const s of accepted) s.destroy();
      srv.close();
    }
  });

  it('a socket that connects again after a refused connect: the refused attempt is closed failed, the second connection is exact', async () => {
    // A port bound but not listening refuses (RST); the same socket then connects to a server.
    const TCP_CLOSE = 7;
    const before = t.stats().kernel.tcpEntryReplaced;
    const refuser = tcpSocket(4);
    const accepted: net.Socket[] = [];
    const srv = net.createServer((s) => {
      accepted.push(s);
      s.on('data', () => s.write(Buffer.alloc(700, 3)));
    });
    let fd: number | undefined;
    try {
      socketBind(refuser, '127.0.0.1', 0);
      const deadPort = socketName(refuser).port;
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as net.AddressInfo).port;
      fd = tcpSocket(4);
      socketConnect(fd, '127.0.0.1', deadPort);
      await until(() => tcpInfo(fd!)[0] === TCP_CLOSE, 'the refusal (TCP_CLOSE)');
      // The first connect() after the failure reports it (ECONNREFUSED) and makes the socket unconnected again.
      expect(() => socketConnect(fd!, '127.0.0.1', port)).toThrow(/ECONNREFUSED/);
      socketConnect(fd, '127.0.0.1', port);
      const ESTABLISHED = 1;
      await until(() => tcpInfo(fd!)[0] === ESTABLISHED, 'the second connect');
      expect(socketSend(fd, Buffer.alloc(300, 1))).toBe(300);
      const buf = Buffer.alloc(4096);
      let got = 0;
      await until(() => {
        try {
          got += socketRecv(fd!, buf);
        } catch {
          // EAGAIN: not yet
        }
        return got >= 700;
      }, 'the reply');
      const clientPort = socketName(fd).port;
      closeSync(fd);
      fd = undefined;
      const mine = (x: Connection): boolean => x.protocol === 'tcp' && x.pid === process.pid && x.direction === 'outgoing' && (x.remotePort === deadPort || x.remotePort === port);
      await until(() => closed.filter(mine).length === 2, 'two close records of the socket');
      await sleep(300);
      poll();
      const rs = closed.filter(mine).sort((a, b) => a.start - b.start);
      expect(rs.map((x) => [x.remotePort, x.closed, x.sentBytes, x.recvBytes])).toEqual([
        [deadPort, 'failed', 0, 0],
        [port, 'destroyed', 300, 700],
      ]);
      expect(rs[1]!.localPort).toBe(clientPort);
      expect(rs[1]!.start).toBeGreaterThan(rs[0]!.start);
      expect(t.stats().kernel.tcpEntryReplaced - before).toBe(1n);
    } finally {
      if (fd !== undefined) closeSync(fd);
      closeSync(refuser);
      for (const s of accepted) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('removes a dead record at the next read, without showing or reporting it', async () => {
    const before = t.stats();
    const { id, valueSize } = sockStateMap();
    // A dead record at an address no socket has (kernel addresses are above 2^63).
    const key = Buffer.alloc(8);
    key.writeBigUInt64LE(0x7eadbeef0n);
    const value = Buffer.alloc(valueSize);
    value.writeUInt16LE(1, REC.tup.offset + TUP.sport.offset);
    value.writeUInt16LE(2, REC.tup.offset + TUP.dport.offset);
    value[REC.nslots.offset] = 1;
    value[REC.live.offset] = TCP_REC_DEAD;
    write(id, [{ key, value }]);
    expect(dump(id).some((e) => e.key.equals(key))).toBe(true);
    const s = poll();
    expect(s.filter((x) => x.localPort === 1 && x.remotePort === 2)).toEqual([]);
    expect(t.stats().tcpDeadRemoved - before.tcpDeadRemoved).toBe(1);
    expect(dump(id).some((e) => e.key.equals(key))).toBe(false);
    await sleep(300);
    poll();
    expect(closed.filter((x) => x.localPort === 1 && x.remotePort === 2)).toEqual([]);
  });
});
