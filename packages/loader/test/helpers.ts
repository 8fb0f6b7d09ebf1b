import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { native } from '../src/binding.js';

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

/** Ids of every BPF link attached in the system now (BPF_LINK_GET_NEXT_ID): compare only ids this process made. */
export function liveLinkIds(): Set<number> {
  return new Set(native.link_ids());
}

/** The error `fn` throws (fails the test when it does not throw). */
export function caught(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected an error');
}

export async function caughtAsync(fn: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await fn();
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected an error');
}

/**
 * Run an ES module script as nobody (uid 65534) from a world-readable copy of
 * the built package (the checkout may sit where only root can enter); `files`
 * are copied next to it under their base names. Returns stdout, stderr.
 */
export function runUnprivileged(script: (files: Record<string, string>) => string, files: string[] = []): { stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tracer-bpf-unpriv-'));
  try {
    const pkgRoot = fileURLToPath(new URL('..', import.meta.url));
    const loader = join(dir, 'node_modules/@tracer-bpf/loader');
    for (const part of ['dist', 'prebuilds', 'package.json']) cpSync(join(pkgRoot, part), join(loader, part), { recursive: true });
    const gypBuild = dirname(createRequire(join(pkgRoot, 'package.json')).resolve('node-gyp-build/package.json'));
    cpSync(gypBuild, join(dir, 'node_modules/node-gyp-build'), { recursive: true, dereference: true });
    const copies: Record<string, string> = {};
    for (const f of files) copyFileSync(f, (copies[basename(f)] = join(dir, basename(f))));
    writeFileSync(join(dir, 'unpriv.mjs'), script(copies));
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    const r = spawnSync(process.execPath, [join(dir, 'unpriv.mjs')], { encoding: 'utf8', uid: 65534, gid: 65534, cwd: dir });
    return { stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
