import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

/** Mount tracefs if it is not (classic tracepoints need it); tests run as root. */
export function ensureTracefs(): void {
  if (!existsSync('/sys/kernel/tracing/events')) {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing']);
  }
}

/** A listening TCP server on an ephemeral port that echoes a fixed reply once it has read `expect` bytes. */
export async function listen(host: string): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return server;
}

export function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

export interface Exchange {
  clientPort: number;
  serverPort: number;
}

/**
 * One TCP connection to `server`: the client sends `up` bytes, the server
 * reads all of them and answers with `down` bytes, then both sides close.
 * Resolves when both sockets are fully closed.
 */
export async function exchange(server: net.Server, host: string, up: number, down: number): Promise<Exchange> {
  const serverPort = portOf(server);
  const serverDone = new Promise<void>((resolve, reject) => {
    server.once('connection', (sock) => {
      let got = 0;
      sock.on('data', (d) => {
        got += d.length;
        if (got === up) sock.end(Buffer.alloc(down, 0x62));
      });
      sock.on('error', reject);
      sock.on('close', () => resolve());
    });
  });
  const client = net.connect({ host, port: serverPort });
  let clientPort = 0;
  const clientDone = new Promise<void>((resolve, reject) => {
    let got = 0;
    client.on('connect', () => {
      clientPort = client.localPort ?? 0;
      client.write(Buffer.alloc(up, 0x61));
    });
    client.on('data', (d) => {
      got += d.length;
    });
    client.on('end', () => {
      if (got !== down) reject(new Error(`client read ${got} bytes, expected ${down}`));
      client.end();
    });
    client.on('error', reject);
    client.on('close', () => resolve());
  });
  await Promise.all([serverDone, clientDone]);
  return { clientPort, serverPort };
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Wait until `fn` returns true (polling), or fail after `ms`. */
export async function waitFor(fn: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
