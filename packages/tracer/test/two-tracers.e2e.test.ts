// Two tracers in two processes at once (each with its own maps, ring and
// programs on the same hooks) count the same traffic exactly alike: one
// reading every 10 ms, the other every 500 ms, and a third killed with
// SIGKILL in the middle of the traffic disturbs neither. Host only (root,
// the real kernel).
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Child, run } from './child-process.js';

const WATCH = fileURLToPath(new URL('./children/watch.mjs', import.meta.url));
const EXCHANGES = 40;

type Seen = { protocol: string; localPort: number; remotePort: number; pid: number; direction: string; closed?: string; sentBytes: string; recvBytes: string; sentPackets: string; recvPackets: string };
interface Report {
  closed: Seen[];
  live: Seen[];
  closedLost: string;
  closedQueueDropped: number;
}

const sortKey = (s: Seen) => `${s.protocol} ${s.localPort} ${s.remotePort} ${s.closed ?? ''}`;
const sorted = (xs: Seen[]) => [...xs].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));

async function report(c: Child): Promise<Report> {
  c.send('report');
  return (await c.next()) as unknown as Report;
}

describe.each([
  ['tp_btf', 'tp_btf'],
  ['tp_btf', 'tracepoint'],
] as const)('tracers on %s and %s in two processes, a third killed midway', (a, b) => {
  it(`both count ${EXCHANGES} TCP exchanges and UDP flows exactly, with every close once`, async () => {
    // The server: TCP answers `down` bytes once it has the client's 100 + down, UDP answers 20 bytes.
    const want = new Map<number, number>();
    const srv = net.createServer((s) => {
      let got = 0;
      s.on('data', (d) => {
        got += d.length;
        const down = want.get(s.remotePort!);
        if (down !== undefined && got === 100 + down) s.end(Buffer.alloc(down, 2));
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    udp.on('message', (_m, from) => udp.send(Buffer.alloc(20, 3), from.port, from.address));
    await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));

    const fast = run([WATCH, a, String(port), '10']);
    const slow = run([WATCH, b, String(port), '500']);
    const doomed = run([WATCH, 'tp_btf', String(port), '50']);
    const clients: dgram.Socket[] = [];
    try {
      for (const c of [fast, slow, doomed]) expect(await c.next()).toMatchObject({ ready: expect.any(String) });
      const expected: Seen[] = [];
      for (let i = 0; i < EXCHANGES; i++) {
        if (i === EXCHANGES / 2) {
          doomed.child.kill('SIGKILL');
          await doomed.exited;
        }
        const down = 10 * i + 1;
        // the client port is known only once connected: register the answer size by a first write the server counts
        const clientPort = await new Promise<number>((resolve, reject) => {
          const c = net.connect(port, '127.0.0.1', () => {
            want.set(c.localPort!, down);
            c.write(Buffer.alloc(100 + down, 1));
          });
          let p = 0;
          c.on('connect', () => (p = c.localPort!));
          c.on('data', () => {});
          c.on('end', () => c.end());
          c.on('close', () => resolve(p));
          c.on('error', reject);
        });
        const up = 100 + down;
        const common = { protocol: 'tcp', pid: process.pid, closed: 'destroyed' };
        expected.push({ ...common, localPort: clientPort, remotePort: port, direction: 'outgoing', sentBytes: String(up), recvBytes: String(down) } as Seen);
        expected.push({ ...common, localPort: port, remotePort: clientPort, direction: 'incoming', sentBytes: String(down), recvBytes: String(up) } as Seen);
      }
      // UDP: connected clients, i + 1 datagrams of 50 bytes each, each answered
      for (let i = 0; i < 5; i++) {
        const c = dgram.createSocket('udp4');
        clients.push(c);
        await new Promise<void>((r) => c.connect(port, '127.0.0.1', r));
        for (let k = 0; k <= i; k++) {
          const answered = new Promise((r) => c.once('message', r));
          c.send(Buffer.alloc(50, 1));
          await answered;
        }
      }
      await new Promise((r) => setTimeout(r, 600));
      const [rf, rs] = [await report(fast), await report(slow)];
      for (const r of [rf, rs]) {
        expect(r.closedLost).toBe('0');
        expect(r.closedQueueDropped).toBe(0);
        const tcp = r.closed.filter((s) => s.protocol === 'tcp');
        // every exchange's two ends, each closed once, exact
        expect(sorted(tcp).map(({ sentPackets: _s, recvPackets: _r, ...x }) => x)).toEqual(sorted(expected));
        const flows = r.live.filter((s) => s.protocol === 'udp' && s.remotePort === port);
        expect(flows.map((f) => [Number(f.sentPackets), Number(f.sentBytes), Number(f.recvBytes)]).sort((x, y) => x[0]! - y[0]!)).toEqual([1, 2, 3, 4, 5].map((n) => [n, 50 * n, 20 * n]));
      }
      // and the two agree on everything, packets included
      expect(sorted(rf.closed)).toEqual(sorted(rs.closed));
      expect(sorted(rf.live.filter((s) => s.protocol === 'udp'))).toEqual(sorted(rs.live.filter((s) => s.protocol === 'udp')));
    } finally {
      for (const c of [fast, slow, doomed]) c.child.kill('SIGKILL');
      for (const c of clients) c.close();
      udp.close();
      srv.close();
    }
  });
});
