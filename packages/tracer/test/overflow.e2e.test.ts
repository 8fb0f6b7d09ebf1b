// More connections than the maps hold (maxConnections): the ones that do
// not fit are counted (stats().kernel.sockStateFull / connStatsFull), the
// connections tracked before keep exact counters, and once the flood is gone
// new connections are tracked again. Host only (root, the real kernel).
import dgram from 'node:dgram';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Tracer } from '../src/index.js';

const MAX = 64;

interface Pair {
  client: net.Socket;
  server: net.Socket;
  clientPort: number;
}

/** A held-open loopback TCP connection to `port`, both ends. */
async function open(srv: net.Server, port: number): Promise<Pair> {
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => client.once('connect', r).once('error', j));
  const server = await accepted;
  return { client, server, clientPort: client.localPort! };
}

/** `n` bytes from client to server, awaited on the server side. */
async function send(p: Pair, n: number): Promise<void> {
  let got = 0;
  const done = new Promise<void>((r) => {
    const on = (b: Buffer) => {
      got += b.length;
      if (got >= n) {
        p.server.off('data', on);
        r();
      }
    };
    p.server.on('data', on);
  });
  p.client.write(Buffer.alloc(n, 5));
  await done;
}

async function closeAll(pairs: Pair[]): Promise<void> {
  await Promise.all(
    pairs.map(
      (p) =>
        new Promise<void>((r) => {
          p.client.once('close', () => r());
          p.server.destroy();
          p.client.destroy();
        }),
    ),
  );
}

describe.each(['tp_btf', 'tracepoint'] as const)(`backend %s with maxConnections ${MAX}`, (backend) => {
  it(`TCP: a flood past ${MAX} sockets is counted, tracked connections stay exact, the tracer keeps working`, async () => {
    const t = await Tracer.start({ backend, maxConnections: MAX, udpPeers: false });
    const srv = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const tracked: Pair[] = [];
    const flood: Pair[] = [];
    try {
      for (let i = 0; i < 4; i++) tracked.push(await open(srv, port));
      for (const [i, p] of tracked.entries()) await send(p, 100 + i);
      const mine = (c: { localPort: number; remotePort: number; protocol: string }) => c.protocol === 'tcp' && c.remotePort === port;
      expect(t.snapshot().toObjects().filter(mine)).toHaveLength(4);
      const full0 = t.stats().kernel.sockStateFull;

      // The flood: far more sockets (two per connection) than the map holds.
      for (let i = 0; i < MAX; i++) flood.push(await open(srv, port));
      for (const p of flood) await send(p, 10);
      const st = t.stats();
      expect(st.maxConnections).toBe(MAX);
      // what did not fit is counted (each socket at least once)...
      expect(st.kernel.sockStateFull - full0).toBeGreaterThanOrEqual(BigInt(2 * MAX - MAX));
      // ...and the map never holds more than its size
      expect(st.connections).toBeLessThanOrEqual(2 * MAX);

      // The connections tracked before the flood stay exact through it.
      for (const [i, p] of tracked.entries()) await send(p, 1000 * (i + 1));
      const now = t.snapshot().toObjects().filter(mine);
      for (const [i, p] of tracked.entries()) {
        const c = now.filter((x) => x.localPort === p.clientPort);
        expect(c, `tracked connection ${i}`).toHaveLength(1);
        expect(c[0]).toMatchObject({ sentBytes: (100 + i + 1000 * (i + 1)), recvBytes: 0, pid: process.pid, closed: undefined });
      }

      // The flood ends: its sockets leave the map, and a new connection is tracked exactly.
      await closeAll(flood.splice(0));
      await new Promise((r) => setTimeout(r, 300));
      t.snapshot().toObjects();
      const fresh = await open(srv, port);
      tracked.push(fresh);
      await send(fresh, 777);
      const c = t.snapshot().toObjects().filter((x) => mine(x) && x.localPort === fresh.clientPort);
      expect(c).toHaveLength(1);
      expect(c[0]).toMatchObject({ sentBytes: 777, pid: process.pid });
      expect(t.stats().kernel.closedLost).toBe(0n);
    } finally {
      await closeAll([...tracked, ...flood]);
      srv.close();
      t.close();
    }
  });

  it(`UDP: flows past ${MAX} are counted in connStatsFull, a flow tracked before stays exact`, async () => {
    const t = await Tracer.start({ backend, maxConnections: MAX, udpPeers: false });
    const server = dgram.createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    const port = server.address().port;
    const clients: dgram.Socket[] = [];
    const connected = async (): Promise<dgram.Socket> => {
      const c = dgram.createSocket('udp4');
      await new Promise<void>((r) => c.connect(port, '127.0.0.1', r));
      clients.push(c);
      return c;
    };
    const sendOne = (c: dgram.Socket, n: number) => new Promise<void>((r, j) => c.send(Buffer.alloc(n, 1), (e) => (e ? j(e) : r())));
    try {
      const first = await connected();
      await sendOne(first, 50);
      const full0 = t.stats().kernel.connStatsFull;
      // each client's flow is one entry (its send); the server only receives: no entry of its own is needed
      for (let i = 0; i < 2 * MAX; i++) await sendOne(await connected(), 10);
      await sendOne(first, 60);
      await new Promise((r) => setTimeout(r, 100));
      const st = t.stats();
      expect(st.kernel.connStatsFull - full0).toBeGreaterThanOrEqual(BigInt(MAX));
      const flow = t.snapshot().toObjects().filter((c) => c.protocol === 'udp' && c.localPort === first.address().port && c.remotePort === port);
      expect(flow).toHaveLength(1);
      expect(flow[0]).toMatchObject({ sentBytes: 110, sentPackets: 2, pid: process.pid });
    } finally {
      for (const c of clients) c.close();
      server.close();
      t.close();
    }
  });
});
