// Shared by the tracer's user-story tests: a tracer for the length of a
// story, the fields a story's expectation is about, and this process's netns.
import net from 'node:net';
import { statSync } from 'node:fs';
import type { Connection, Tracer, TracerOptions } from '../src/index.js';
import { startTracer } from './backends.js';

/** This process's network namespace inode (what Connection.netns says for our sockets). */
export const NETNS = statSync('/proc/self/ns/net').ino;

/** Start a tracer, run `f` with it, and close it whatever happens. */
export async function withTracer<T>(opts: TracerOptions, f: (t: Tracer) => Promise<T>): Promise<T> {
  const t = await startTracer(opts);
  try {
    return await f(t);
  } finally {
    t.close();
  }
}

/** A connection without the fields that vary from run to run (ids, times, flags). */
export function shape(c: Connection) {
  return {
    protocol: c.protocol,
    family: c.family,
    pid: c.pid,
    netns: c.netns,
    localAddress: c.localAddress,
    localPort: c.localPort,
    remoteAddress: c.remoteAddress,
    remotePort: c.remotePort,
    direction: c.direction,
    sentBytes: c.sentBytes,
    recvBytes: c.recvBytes,
    sentPackets: c.sentPackets,
    recvPackets: c.recvPackets,
    assured: c.assured,
    closed: c.closed,
    tcp: c.tcp,
  };
}

export const byPort = (x: { localPort: number }, y: { localPort: number }): number => x.localPort - y.localPort;

/** One TCP exchange on `host`: `up` bytes to a server that answers `down` and closes; both ends closed when it resolves. */
export async function exchange(host: string, up: number, down: number): Promise<{ clientPort: number; serverPort: number }> {
  const srv = net.createServer((s) => {
    let n = 0;
    s.on('data', (d) => {
      n += d.length;
      if (n === up) s.end(Buffer.alloc(down, 1));
    });
  });
  await new Promise<void>((r) => srv.listen(0, host, r));
  const serverPort = (srv.address() as net.AddressInfo).port;
  const c = net.connect(serverPort, host);
  let clientPort = 0;
  await new Promise<void>((resolve, reject) => {
    c.on('connect', () => {
      clientPort = c.localPort!;
      c.write(Buffer.alloc(up, 2));
    });
    c.on('data', () => {});
    c.on('error', reject);
    c.on('end', () => c.end());
    c.on('close', () => resolve());
  });
  await new Promise<void>((r) => srv.close(() => r()));
  return { clientPort, serverPort };
}
