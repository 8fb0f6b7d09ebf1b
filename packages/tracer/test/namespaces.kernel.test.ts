// Connections in other namespaces, seen from the tracer in the root ones: a
// TCP exchange inside `unshare -n` (a fresh network namespace with only lo)
// carries that namespace's inode and the process's pid; inside
// `unshare -p -n --fork` the pid is the one the tracer's (root) pid namespace
// sees, not the pid 1 the process sees itself as.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, Tracer } from '../src/index.js';
import { byPort, NETNS, shape } from './stories.js';
import { ALL_BACKENDS, refusedHere, startTracer } from './backends.js';

const SCALE = process.env.TRACER_BPF_KERNEL_CONFIG ? 0.1 : 1;
const UP = Math.max(1000, Math.round(100_000 * SCALE));
const DOWN = Math.max(500, Math.round(30_000 * SCALE));

// The child: prints {pid, netns}, waits for "go" on stdin, runs one TCP
// exchange over 127.0.0.1 (client sends UP bytes, server answers DOWN and
// closes), prints the ports and exits.
const CHILD = `
const net = require('node:net');
const fs = require('node:fs');
const [up, down] = process.argv.slice(2, 4).map(Number);
process.stdout.write(JSON.stringify({ pid: process.pid, netns: fs.statSync('/proc/self/ns/net').ino }) + '\\n');
process.stdin.once('data', () => {
  const srv = net.createServer((s) => {
    let n = 0;
    s.on('data', (d) => { n += d.length; if (n === up) s.end(Buffer.alloc(down, 1)); });
  });
  srv.listen(0, '127.0.0.1', () => {
    const serverPort = srv.address().port;
    let clientPort = 0;
    const c = net.connect(serverPort, '127.0.0.1', () => { clientPort = c.localPort; c.write(Buffer.alloc(up, 2)); });
    let got = 0;
    c.on('data', (d) => { got += d.length; });
    c.on('end', () => c.end());
    c.on('close', () => srv.close(() => {
      process.stdout.write(JSON.stringify({ clientPort, serverPort, got }) + '\\n');
      process.exit(0);
    }));
  });
});
`;

interface Run {
  /** pid as the child sees itself, and its netns inode. */
  inner: { pid: number; netns: number };
  /** The child's pid in the tracer's (root) pid namespace. */
  hostPid: number;
  result: { clientPort: number; serverPort: number; got: number };
  unsharePid: number;
}

function lines(p: ChildProcess): AsyncIterator<string> {
  let buf = '';
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  p.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      queue.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    wake?.();
  });
  p.on('close', () => {
    ended = true;
    wake?.();
  });
  return {
    async next() {
      while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
      if (queue.length) return { value: queue.shift()!, done: false };
      return { value: undefined, done: true };
    },
  };
}

/** Pids (root namespace) whose command line holds `marker` and whose innermost namespace pid is `inner`. */
function hostPidsOf(marker: string, inner: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'latin1');
      if (!cmd.split('\0').includes(marker)) continue;
      const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${e}/status`, 'utf8'))?.[1]?.trim().split(/\s+/).map(Number);
      if (nspid && nspid[nspid.length - 1] === inner && !cmd.startsWith('unshare')) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function runInNamespaces(unshareArgs: string[], script: string): Promise<Run> {
  const marker = `tracer-ns-test-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const p = spawn('unshare', [...unshareArgs, 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, script, String(UP), String(DOWN), marker], {
    stdio: ['pipe', 'pipe', 'inherit'],
    timeout: 30_000,
  });
  try {
    const it = lines(p);
    const first = await it.next();
    if (first.done) throw new Error(`unshare ${unshareArgs.join(' ')}: the child ended before printing its pid`);
    const inner = JSON.parse(first.value) as Run['inner'];
    const hosts = hostPidsOf(marker, inner.pid);
    expect(hosts).toHaveLength(1);
    p.stdin!.write('go\n');
    const second = await it.next();
    if (second.done) throw new Error(`unshare ${unshareArgs.join(' ')}: the child ended without its result`);
    const result = JSON.parse(second.value) as Run['result'];
    await new Promise<void>((r) => (p.exitCode !== null ? r() : p.once('close', () => r())));
    expect(p.exitCode).toBe(0);
    return { inner, hostPid: hosts[0]!, result, unsharePid: p.pid! };
  } finally {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
}

/** Snapshots until the two closed ends in `netns` are in (close records arrive within closedPollMs). */
async function closedPair(t: Tracer, netns: number, ports: number[]): Promise<Connection[]> {
  const seen: Connection[] = [];
  const deadline = Date.now() + 10_000;
  for (;;) {
    for (const c of t.snapshot().toObjects()) if (c.protocol === 'tcp' && c.netns === netns && ports.includes(c.localPort) && ports.includes(c.remotePort)) seen.push(c);
    if (seen.filter((c) => c.closed).length >= 2 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen.filter((c) => c.closed);
}

function expectExchange(got: Connection[], r: Run, pid: number): void {
  // shape() without packets, assured and the TCP figures: this story is about who, where and bytes
  const pick = (c: Connection) => {
    const { sentPackets: _sp, recvPackets: _rp, assured: _a, tcp: _t, ...rest } = shape(c);
    return rest;
  };
  const common = { protocol: 'tcp', family: 'ipv4', pid, netns: r.inner.netns, localAddress: '127.0.0.1', remoteAddress: '127.0.0.1', closed: 'destroyed' } as const;
  expect(got.map(pick).sort(byPort)).toEqual(
    [
      { ...common, localPort: r.result.clientPort, remotePort: r.result.serverPort, direction: 'outgoing', sentBytes: (UP), recvBytes: (DOWN) },
      { ...common, localPort: r.result.serverPort, remotePort: r.result.clientPort, direction: 'incoming', sentBytes: (DOWN), recvBytes: (UP) },
    ].sort(byPort),
  );
}


describe.each(ALL_BACKENDS)('namespaces, backend %s', (backend) => {
  if (refusedHere(backend)) return;
  let dir: string;
  let script: string;
  let t: Tracer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tracer-ns-'));
    script = join(dir, 'child.cjs');
    writeFileSync(script, CHILD);
    t = await startTracer({ backend });
  });
  afterAll(() => {
    t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('unshare -n: the fresh network namespace\'s inode and the process\'s pid', async () => {
    const r = await runInNamespaces(['-n'], script);
    // only a network namespace: unshare execs sh, which execs node, so the pids agree
    expect(r.hostPid).toBe(r.inner.pid);
    expect(r.inner.pid).toBe(r.unsharePid);
    expect(r.result.got).toBe(DOWN);
    expect(r.inner.netns).not.toBe(NETNS);
    expectExchange(await closedPair(t, r.inner.netns, [r.result.clientPort, r.result.serverPort]), r, r.hostPid);
  });

  it('unshare -p -n --fork --mount-proc: the pid as the tracer\'s pid namespace sees it, not 1', async () => {
    const r = await runInNamespaces(['-p', '-n', '--fork', '--mount-proc'], script);
    expect(r.inner.pid).toBe(1);
    expect(r.hostPid).not.toBe(1);
    expect(r.hostPid).not.toBe(r.unsharePid);
    expect(r.result.got).toBe(DOWN);
    expectExchange(await closedPair(t, r.inner.netns, [r.result.clientPort, r.result.serverPort]), r, r.hostPid);
  });
});
