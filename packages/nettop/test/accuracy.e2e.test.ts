// The accuracy figure against the real kernel: our counters and ss -tin's
// TCP_INFO agree exactly on quiet sockets (unread data included), and the
// CLI reports it, or n/a without ss.
import { createServer, connect, type Socket } from 'node:net';
import { statSync } from 'node:fs';
import { Tracer } from '@tracer-bpf/tracer';
import { describe, expect, it } from 'vitest';
import { compareAccuracy, kernelBytes } from '../src/accuracy.js';
import type { SampleDoc } from '../src/sample.js';
import { readSs } from '../src/ss.js';
import { have, listen, NOT_ROOT, nettop } from './e2e.js';

const NETNS = statSync('/proc/self/ns/net').ino;
const NO_SS = have('ss') ? undefined : 'ss (iproute2) is not installed';
const settle = (ms = 200) => new Promise((r) => setTimeout(r, ms));

/**
 * A connection that stays open: the client sends `up`, the server `down`,
 * then `unread` more to the paused client (more than its stream buffers
 * take: the rest waits in the kernel's receive queue, the window closes and
 * the connection goes quiet).
 */
async function heldConnection(up: number, down: number, unread: number) {
  let accepted: Socket | undefined;
  let serverGot = 0;
  const server = createServer((s) => {
    accepted = s;
    s.on('data', (b: Buffer) => {
      serverGot += b.length;
      if (serverGot === up) s.write(Buffer.alloc(down, 5));
    });
  });
  const serverPort = await listen(server);
  const client = connect(serverPort, '127.0.0.1');
  let clientGot = 0;
  const gotAll = new Promise<void>((resolve) =>
    client.on('data', (b: Buffer) => {
      clientGot += b.length;
      if (clientGot === down) {
        client.pause();
        resolve();
      }
    }),
  );
  await new Promise<void>((resolve) => client.on('connect', resolve));
  client.write(Buffer.alloc(up, 4));
  await gotAll;
  accepted!.write(Buffer.alloc(unread, 6));
  await settle(300);
  return {
    serverPort,
    clientPort: client.localPort!,
    close: () => {
      client.destroy();
      accepted?.destroy();
      server.close();
    },
  };
}

describe.skipIf(NOT_ROOT || NO_SS)(`accuracy against ss -tin${NOT_ROOT || NO_SS ? ` (skipped: ${NOT_ROOT ?? NO_SS})` : ''}`, () => {
  it('our counters equal the kernel TCP_INFO ones on both ends of a live connection, unread data aside', async () => {
    const tracer = await Tracer.start();
    try {
      const held = await heldConnection(10_000, 70_000, 4 << 20);
      try {
        const ports = [held.clientPort, held.serverPort];
        const ours = tracer.snapshot().filter((c) => c.protocol === 'tcp' && ports.includes(c.localPort) && ports.includes(c.remotePort));
        const ss = (await readSs())!.filter((s) => ports.includes(s.localPort) && ports.includes(s.remotePort));
        expect(ours).toHaveLength(2);
        expect(ss).toHaveLength(2);
        const client = ss.find((s) => s.localPort === held.clientPort)!;
        expect(client.recvQ).toBeGreaterThan(0);
        expect(kernelBytes(client, true).sent).toBe(10_000);
        expect(kernelBytes(ss.find((s) => s.localPort === held.serverPort)!, false).recv).toBe(10_000);
        expect(compareAccuracy(ours, ss, NETNS)).toEqual({ sockets: 2, maxSentDiffBytes: 0, maxRecvDiffBytes: 0 });
      } finally {
        held.close();
      }
    } finally {
      tracer.close();
    }
  });

  it('the CLI reports the figure over the sockets it saw open, and n/a without ss', async () => {
    const withSs = nettop(['--once', '--json', '--interval', '1.5', '--verbose']);
    const without = nettop(['--once', '--json', '--interval', '1.5', '--verbose'], { env: { ...process.env, PATH: '/nonexistent' } });
    await Promise.all([withSs.waitStderr(/tracing: /), without.waitStderr(/tracing: /)]);
    const held = await heldConnection(1000, 2000, 0);
    try {
      expect((await withSs.exited).code, withSs.stderr()).toBe(0);
      expect((await without.exited).code, without.stderr()).toBe(0);
    } finally {
      held.close();
    }
    const doc = JSON.parse(withSs.stdout()) as SampleDoc;
    expect(doc.accuracy).toEqual({ sockets: expect.any(Number), maxSentDiffBytes: expect.any(Number), maxRecvDiffBytes: expect.any(Number) });
    expect(doc.accuracy!.sockets).toBeGreaterThanOrEqual(2);
    expect((JSON.parse(without.stdout()) as SampleDoc).accuracy).toBeNull();
  });
});
