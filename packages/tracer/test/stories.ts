// Shared by the tracer's user-story tests: a tracer for the length of a
// story, the fields a story's expectation is about, and this process's netns.
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
