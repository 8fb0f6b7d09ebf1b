// kprobe, kretprobe, fentry and fexit programs on tcp_sendmsg count this
// process's real TCP sends exactly, on every kernel that has the backend
// (which kernels must have it comes from their config: kernel-expect.ts).
// The peer runs in another process, so every send of ours is a client write.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, findTracefs, type Link, probeFeature } from '../src/index.js';
import { ensureTracefs } from './helpers.js';
import { expectedFeatures, kernelAtLeast } from './kernel-expect.js';

const HITS = { kprobe: 0, kretprobe: 1, fentry: 2, fexit: 3 } as const;
type Kind = keyof typeof HITS;
const PROGRAM: Record<Kind, string> = {
  kprobe: 'kprobe_sendmsg',
  kretprobe: 'kretprobe_sendmsg',
  fentry: 'fentry_sendmsg',
  fexit: 'fexit_sendmsg',
};

let peer: ChildProcess;
let port = 0;

beforeAll(async () => {
  ensureTracefs();
  // A sink in another process: reads everything, never writes.
  peer = spawn(process.execPath, [
    '-e',
    `const s = require('net').createServer((c) => c.resume()); s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
  ]);
  port = await new Promise<number>((resolve, reject) => {
    peer.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    peer.once('error', reject);
  });
});
afterAll(() => {
  peer?.kill();
});

/** Open one connection and send `writes` chunks, one write at a time (one tcp_sendmsg each). */
async function send(writes: number): Promise<void> {
  const sock = net.connect({ host: '127.0.0.1', port });
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  for (let i = 0; i < writes; i++) {
    await new Promise<void>((resolve, reject) => sock.write(Buffer.alloc(100 + i, 0x41), (e) => (e ? reject(e) : resolve())));
  }
  await new Promise<void>((resolve) => sock.end(resolve));
  await new Promise<void>((resolve) => (sock.destroyed ? resolve() : sock.once('close', () => resolve())));
}

function hits(obj: BpfObject): Record<Kind, bigint> {
  const m = obj.map('hits');
  const k = Buffer.alloc(4);
  const get = (i: number) => {
    k.writeUInt32LE(i);
    return (m.lookup(k) as Buffer).readBigUInt64LE(0);
  };
  return { kprobe: get(0), kretprobe: get(1), fentry: get(2), fexit: get(3) };
}

async function probesObject(kinds: Kind[]): Promise<BpfObject> {
  const obj = BpfObject.open(objects.probesTest);
  for (const [kind, prog] of Object.entries(PROGRAM)) obj.program(prog).setAutoload(kinds.includes(kind as Kind));
  obj.setGlobal('target_tgid', process.pid);
  await obj.load();
  return obj;
}

const expected = expectedFeatures();
const kprobes = expected.kprobes.expected;
const fentry = expected.fentry.expected;

describe.runIf(kprobes)('kprobes (this kernel has them)', () => {
  it.each(['auto', 'pmu', 'tracefs'] as const)('kprobe and kretprobe on tcp_sendmsg count every send exactly (mode %s)', async (mode) => {
    if (mode === 'pmu' && probeFeature('kprobes').mode !== 'pmu') {
      expect.fail(`this kernel has kprobes but no kprobe PMU: ${probeFeature('kprobes').detail}`);
    }
    using obj = await probesObject(['kprobe', 'kretprobe']);
    const links: Link[] = [
      obj.program('kprobe_sendmsg').attach({ kind: 'kprobe', target: 'tcp_sendmsg', mode }),
      obj.program('kretprobe_sendmsg').attach({ kind: 'kretprobe', target: 'tcp_sendmsg', mode }),
    ];
    await send(7);
    expect(hits(obj)).toEqual({ kprobe: 7n, kretprobe: 7n, fentry: 0n, fexit: 0n });
    for (const l of links) {
      // tracefs: kprobe_profile on every kernel; PMU: BPF link info from 6.7.
      expect(l.nmissed()).toBe(mode === 'tracefs' || kernelAtLeast(6, 7) ? 0n : undefined);
    }
    if (mode === 'tracefs') {
      const tracefs = findTracefs() as string;
      const events = () => readFileSync(`${tracefs}/kprobe_events`, 'utf8');
      const names = links.map((l) => l.info().legacyEvent as string);
      for (const n of names) expect(events()).toContain(n);
      for (const l of links) l.close();
      for (const n of names) expect(events()).not.toContain(n);
    }
    for (const l of links) l.close();
    await send(3);
    expect(hits(obj).kprobe).toBe(7n);
  });

  it('a kretprobe with maxActive goes through tracefs as r<N>: and counts every return', async () => {
    using obj = await probesObject(['kretprobe']);
    const link = obj.program('kretprobe_sendmsg').attach({ kind: 'kretprobe', target: 'tcp_sendmsg', maxActive: 64 });
    const event = link.info().legacyEvent as string;
    const line = readFileSync(`${findTracefs()}/kprobe_events`, 'utf8')
      .split('\n')
      .find((l) => l.includes(event));
    expect(line).toMatch(new RegExp(`^r64:${event} tcp_sendmsg`));
    await send(4);
    expect(hits(obj).kretprobe).toBe(4n);
    expect(link.nmissed()).toBe(0n);
  });

  it('attaches from the section name, and a missing function is ENOENT, named', async () => {
    using obj = await probesObject(['kprobe']);
    const link = obj.program('kprobe_sendmsg').attach();
    expect([link.kind, link.target]).toEqual(['kprobe', 'tcp_sendmsg']);
    await send(2);
    expect(hits(obj).kprobe).toBe(2n);
    expect(() => obj.program('kprobe_sendmsg').attach({ kind: 'kprobe', target: 'no_such_function_xyz' })).toThrow(
      /no kernel function named no_such_function_xyz/,
    );
  });

  it('attaches to a compiler clone only when allowed', async () => {
    const tracefs = findTracefs() as string;
    const traceable = readFileSync(`${tracefs}/available_filter_functions`, 'utf8').split('\n');
    const kallsyms = new Set(readFileSync('/proc/kallsyms', 'utf8').split('\n').map((l) => l.split(/\s+/)[2]));
    const byBase = new Map<string, string[]>();
    for (const line of traceable) {
      const sym = line.split(/\s+/)[0] ?? '';
      const m = /^(.+?)\.(isra|part|constprop)\.\d+$/.exec(sym);
      if (m?.[1]) byBase.set(m[1], [...(byBase.get(m[1]) ?? []), sym]);
    }
    const pick = [...byBase].find(([base, clones]) => clones.length === 1 && !kallsyms.has(base));
    expect(pick, 'a traceable clone-only function on this kernel').toBeDefined();
    const [base, [clone]] = pick as [string, [string]];
    using obj = await probesObject(['kprobe']);
    expect(() => obj.program('kprobe_sendmsg').attach({ kind: 'kprobe', target: base })).toThrow(/only as a compiler clone/);
    const link = obj.program('kprobe_sendmsg').attach({ kind: 'kprobe', target: base, allowClone: true });
    expect([link.target, link.clone]).toEqual([clone, clone]);
  });
});

describe.runIf(!kprobes)('no kprobes (this kernel lacks them)', () => {
  it('attach says not supported, naming the feature', async () => {
    expect(probeFeature('kprobes').supported).toBe(false);
    using obj = await probesObject(['kprobe']);
    expect(() => obj.program('kprobe_sendmsg').attach()).toThrow(/attach kprobe tcp_sendmsg: ENOENT.*no kprobes/);
  });
});

describe.runIf(fentry)('fentry / fexit (this kernel has them)', () => {
  it('count every send exactly', async () => {
    using obj = await probesObject(['fentry', 'fexit']);
    const { links } = obj.attachAll();
    expect(links.map((l) => `${l.kind}:${l.target}`).sort()).toEqual(['fentry:tcp_sendmsg', 'fexit:tcp_sendmsg']);
    await send(5);
    expect(hits(obj)).toEqual({ kprobe: 0n, kretprobe: 0n, fentry: 5n, fexit: 5n });
  });

  it('retarget before load with setAttachTarget', async () => {
    using obj = BpfObject.open(objects.probesTest);
    for (const p of obj.programs.values()) p.setAutoload(p.name === 'fentry_sendmsg');
    obj.program('fentry_sendmsg').setAttachTarget('tcp_sendmsg_locked');
    await obj.load();
    expect(obj.program('fentry_sendmsg').attach().target).toBe('tcp_sendmsg_locked');
  });
});

describe.runIf(!fentry)('no fentry (this kernel lacks or refuses it)', () => {
  it('load says not supported, naming fentry', async () => {
    expect(probeFeature('fentry').supported).toBe(false);
    await expect(probesObject(['fentry'])).rejects.toThrow(/fentry/);
  });
});
