// UDP flows of unconnected sockets have no end event: they end by idle expiry (a flow seen both
// ways lives longer, as in conntrack) and come back as closed connections
// with reason 'expired', exactly once, with their final counters.
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { type Connection, Tracer } from '../src/index.js';
import { startTracer } from './backends.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
// The slow QEMU guests of the matrix get every time here x3 (a one-way flow must not expire
// between its datagrams and the first snapshot).
const T = process.env.TRACER_BPF_KERNEL_CONFIG !== undefined ? 3 : 1;

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

async function send(from: dgram.Socket, to: dgram.Socket, sizes: number[]): Promise<void> {
  for (const n of sizes) await new Promise<void>((r, j) => from.send(Buffer.alloc(n, 7), to.address().port, '127.0.0.1', (e) => (e ? j(e) : r())));
}

function onPorts(cs: Connection[], ports: number[]): Connection[] {
  return cs.filter((c) => c.protocol === 'udp' && ports.includes(c.localPort) && ports.includes(c.remotePort));
}

describe('UDP idle expiry', () => {
  it('a one-way flow expires after udpTimeoutMs, a two-way (assured) one after udpAssuredTimeoutMs; each delivered once', async () => {
    const t = await startTracer({ udpTimeoutMs: 400 * T, udpAssuredTimeoutMs: 1500 * T, udpPeers: true });
    const a = await bound();
    const b = await bound();
    const c = await bound();
    try {
      if (!t.info.perCall) {
        // No per-call tracepoint (before 6.3): this backend counts no UDP at all (see the README table).
        await send(a, b, [10]);
        await sleep(100);
        expect(onPorts(t.snapshot().toObjects(), [a.address().port, b.address().port])).toEqual([]);
        return;
      }
      let got = 0;
      c.on('message', () => got++);
      b.on('message', (m, r) => b.send(m.subarray(0, 5), r.port, r.address)); // b answers a: assured
      await send(a, b, [100, 200]); // a <-> b: both ways
      await send(a, c, [30, 40, 50]); // a -> c: one way
      while (got < 3) await sleep(5);
      await sleep(50);
      const ports = [a.address().port, b.address().port, c.address().port];
      const live = onPorts(t.snapshot().toObjects(), ports);
      expect(live.filter((x) => x.closed)).toEqual([]);
      expect(live).toHaveLength(4); // a->b, b->a(b's flow), a->c, c's flow
      await sleep(600 * T);
      const first = onPorts(t.snapshot().toObjects(), ports);
      const expired = first.filter((x) => x.closed === 'expired');
      // the one-way flows (a->c on both ends) expired with their final counters; the assured ones live on
      expect(expired.map((x) => [x.localPort, x.remotePort, x.sentBytes, x.recvBytes, x.assured]).sort()).toEqual(
        [
          [a.address().port, c.address().port, 120, 0, false],
          [c.address().port, a.address().port, 0, 120, false],
        ].sort(),
      );
      expect(first.filter((x) => !x.closed).map((x) => x.assured)).toEqual([true, true]);
      // delivered once: the next snapshot does not have them
      expect(onPorts(t.snapshot().toObjects(), ports).filter((x) => x.closed)).toEqual([]);
      // no snapshot for a while: the sweep expires the assured flows into the closed queue
      // (stats() reads no connection: it leaves the sweep to do it)
      const by = Date.now() + 2600 * T;
      while (t.stats().udpExpired < 4 && Date.now() < by) await sleep(50);
      expect(t.stats().udpExpired).toBe(4);
      const later = onPorts(t.snapshot().toObjects(), ports);
      expect(later.map((x) => [x.closed, x.localPort, x.sentBytes, x.recvBytes]).sort()).toEqual(
        [
          ['expired', a.address().port, 300, 10],
          ['expired', b.address().port, 10, 300],
        ].sort(),
      );
      expect(onPorts(t.snapshot().toObjects(), ports)).toEqual([]);
    } finally {
      a.close();
      b.close();
      c.close();
      t.close();
    }
  });
});
