// An alive TCP connection is never expired for being idle (the seed's tracer
// dropped them); a record whose socket the kernel no longer has (its destroy
// was never seen) is found by the idle check against the kernel's socket
// table and delivered closed once, reason 'expired'. The stale record is
// made by writing a record for a connection that does not exist into the
// tracer's own socket map (bpftool), as a missed destroy would leave it.
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { abi, encodeTuple } from '@tracer-bpf/decode';
import { describe, expect, it } from 'vitest';
import { NETNS } from './stories.js';
import { type Connection, Tracer } from '../src/index.js';
import { startTracer } from './backends.js';

const IN_VM = process.env.TRACER_BPF_KERNEL_CONFIG !== undefined;
const IDLE_MS = IN_VM ? 3000 : 1000;
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
  return [...ids].map((id) => {
    const j = JSON.parse(execFileSync('bpftool', ['map', 'show', 'id', String(id), '-j'], { encoding: 'utf8' })) as { id: number; name: string; bytes_value: number };
    return { id: j.id, name: j.name, valueSize: j.bytes_value };
  });
}

const hex = (b: Buffer): string[] => [...b].map((x) => x.toString(16).padStart(2, '0'));

describe('TCP idle check', () => {
  it('keeps an alive idle connection; a record the kernel has no socket for is delivered closed once, expired', async () => {
    const t = await startTracer({ tcpIdleCheckMs: IDLE_MS, closedPollMs: 50 });
    const srv = net.createServer((s) => s.on('data', () => s.write('pong')));
    try {
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as net.AddressInfo).port;
      const c = net.connect(port, '127.0.0.1');
      await new Promise<void>((r) => c.once('connect', () => r()));
      c.write('ping');
      await new Promise<void>((r) => c.once('data', () => r()));
      const clientPort = c.localPort!;

      // A record for 127.0.0.1:1 -> 127.0.0.1:2, which no socket has, idle since boot.
      const f = abi.structs.tcp_sock_rec.fields;
      const cs = abi.structs.conn_stats.fields;
      const map = ownMaps().find((m) => m.name === 'sock_state');
      expect(map).toBeDefined();
      const value = Buffer.alloc(map!.valueSize);
      encodeTuple({ source: '127.0.0.1', sport: 1, dest: '127.0.0.1', dport: 2, netns: NETNS, pid: 0, type: 'TCP' }).copy(value, f.tup.offset);
      value.writeBigUInt64LE(1n, f.slots.offset + cs.timestamp.offset);
      value.writeBigUInt64LE(1n, f.slots.offset + cs.start.offset);
      value.writeUInt32LE(process.pid, f.pids.offset);
      value[f.nslots.offset] = 1;
      value[f.live.offset] = 1;
      const key = Buffer.alloc(8);
      key.writeBigUInt64LE(0xdeadbeef0n);
      execFileSync('bpftool', ['map', 'update', 'id', String(map!.id), 'key', 'hex', ...hex(key), 'value', 'hex', ...hex(value)]);

      // Both are idle past the check: only the one the kernel does not have goes.
      const closed: Connection[] = [];
      const end = Date.now() + IDLE_MS * 6;
      let live: Connection[] = [];
      while (Date.now() < end) {
        const s = t.snapshot().toObjects();
        for (const x of s) if (x.closed !== undefined) closed.push(x);
        live = s.filter((x) => x.closed === undefined && x.protocol === 'tcp' && (x.localPort === clientPort || x.remotePort === clientPort));
        if (closed.some((x) => x.localPort === 1) && Date.now() > end - IDLE_MS * 3) break;
        await sleep(100);
      }
      const fake = closed.filter((x) => x.localPort === 1 && x.remotePort === 2);
      expect(fake.map((x) => [x.closed, x.pid, x.localAddress, x.remoteAddress])).toEqual([['expired', process.pid, '127.0.0.1', '127.0.0.1']]);
      expect(t.stats().tcpVanished).toBe(1);
      // the real connection, idle as long, is alive: still there, both ends, not closed
      expect(live.map((x) => x.localPort).sort()).toEqual([clientPort, port].sort());
      expect(closed.filter((x) => x.localPort === clientPort || x.remotePort === clientPort)).toEqual([]);
      c.destroy();
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
      t.close();
    }
  });
});
