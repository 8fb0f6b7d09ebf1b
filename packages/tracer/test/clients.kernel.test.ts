// Two readers of one tracer watch the same real TCP connection: each sees
// its own deltas and gets the close exactly once; snapshot() is a third.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClientConnection, Tracer } from '../src/index.js';
import { startTracer } from './backends.js';

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100));

async function write(sock: net.Socket, n: number, peer: net.Socket): Promise<void> {
  let got = 0;
  await new Promise<void>((resolve) => {
    const onData = (d: Buffer): void => {
      got += d.length;
      if (got === n) {
        peer.off('data', onData);
        resolve();
      }
    };
    peer.on('data', onData);
    sock.write(Buffer.alloc(n, 1));
  });
}

// One tracer for both stories (a start costs seconds in the emulated guests); each reads its own clients and ports.
let t: Tracer;
beforeAll(async () => {
  t = await startTracer({ closedPollMs: 50 });
});
afterAll(() => t?.close());

it('two clients: deltas of their own, each close once; snapshot() is the default client', async () => {
  {
    let server: net.Socket | undefined;
    const srv = net.createServer((s) => (server = s));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const c = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => c.on('connect', () => r()));
    while (!server) await settle();
    const local = c.localPort; // (gone from the socket once it is destroyed)
    const mine = (xs: ClientConnection[]) => xs.filter((x) => x.protocol === 'tcp' && x.localPort === local && x.remotePort === port);
    try {
      t.connections({ client: 'a' }).toObjects();
      await write(c, 1000, server);
      await settle();
      expect(mine(t.connections({ client: 'a' }).toObjects()).map((x) => [x.sentBytes, x.delta.sentBytes])).toEqual([[1000, 1000]]);
      await write(c, 300, server);
      await settle();
      expect(mine(t.connections({ client: 'a' }).toObjects()).map((x) => [x.sentBytes, x.delta.sentBytes])).toEqual([[1300, 300]]);
      // b's first call: everything so far is its delta
      const first = t.connections({ client: 'b' });
      expect(mine(first.toObjects()).map((x) => [x.sentBytes, x.delta.sentBytes])).toEqual([[1300, 1300]]);
      // what that call cost: the connections it gave (both ends of ours at least), its time and the kernel's share of it
      const { lastRead } = t.stats();
      expect(lastRead.connections).toBe(first.length);
      expect(lastRead.connections).toBeGreaterThanOrEqual(2);
      expect(lastRead.kernelReadNs).toBeGreaterThan(0);
      expect(lastRead.totalNs).toBeGreaterThan(lastRead.kernelReadNs);
      await write(c, 50, server);
    } finally {
      c.destroy();
      server?.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    }
    await settle();
    // the process name of each side: this process's
    const comm = readFileSync('/proc/self/comm', 'utf8').replace(/\n$/, '');
    for (const client of ['a', 'b', 'default']) {
      const closed = mine(t.connections({ client }).toObjects()).filter((x) => x.closed);
      expect(closed.map((x) => [x.closed, x.sentBytes, x.command]), client).toEqual([['destroyed', 1350, comm]]);
      expect(closed[0]!.delta.sentBytes, client).toBe(client === 'a' ? 50 : client === 'b' ? 50 : 1350);
      expect(mine(t.connections({ client }).toObjects()), `${client}, again`).toEqual([]);
    }
    const st = t.stats();
    expect(st.clients.map((x) => x.name).sort()).toEqual(['a', 'b', 'default']);
    expect(st.closedQueueDropped).toBe(0);
    expect(() => t.connections({ client: '' }).toObjects()).toThrow(/client must be a non-empty string/);
  }
});

it('closedConnections(): an async iterator gets each close as it comes, and ends with its signal', async () => {
  {
    const ac = new AbortController();
    const got: ClientConnection[] = [];
    let port = 0;
    const reading = (async () => {
      for await (const c of t.closedConnections({ signal: ac.signal })) {
        if (c.protocol === 'tcp' && (c.localPort === port || c.remotePort === port)) got.push(c);
        if (got.length === 2) ac.abort();
      }
    })();
    const srv = net.createServer((s) => s.on('data', () => s.end('bye')));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    port = (srv.address() as net.AddressInfo).port;
    const c = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => c.on('connect', () => r()));
    c.write('hello');
    await new Promise<void>((r) => c.on('close', () => r()).resume());
    const timeout = setTimeout(() => ac.abort(), 10_000);
    await reading;
    clearTimeout(timeout);
    await new Promise<void>((r) => srv.close(() => r()));
    expect(got.map((x) => [x.localPort === port ? 'server' : 'client', x.closed, x.sentBytes, x.recvBytes]).sort()).toEqual([
      ['client', 'destroyed', 5, 3],
      ['server', 'destroyed', 3, 5],
    ]);
    // the iterator's client is gone with it (the first story's a and b stay until they time out)
    expect(t.stats().clients.map((x) => x.name).sort()).toEqual(['a', 'b', 'default']);
  }
});
