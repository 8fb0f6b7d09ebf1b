// Lifecycle: close during a pending load, garbage collection without close,
// use from worker threads, and nothing left attached afterwards.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { describe, expect, it } from 'vitest';
import { BpfClosedError, BpfObject } from '../src/index.js';
import { ensureTracefs, liveLinkIds, waitFor } from './helpers.js';
import { kernelAtLeast } from './kernel-expect.js';

ensureTracefs();

const dist = new URL('../dist/index.js', import.meta.url).pathname;

/** Open fds of this process that are BPF objects (maps, programs, links). */
function bpfFds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (/prog_type|map_type|link_type/.test(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

/** Which of `ids` (links this process made) are still attached. Other BPF users on the machine do not matter. */
function stillLive(ids: number[]): number[] {
  const live = liveLinkIds();
  return ids.filter((id) => live.has(id));
}

describe('close during a pending load', () => {
  it('rejects the load with a closed error and releases everything', async () => {
    const before = bpfFds();
    for (let i = 0; i < 5; i++) {
      const obj = BpfObject.open(objects.loaderTest);
      const p = obj.load();
      obj.close();
      await expect(p).rejects.toBeInstanceOf(BpfClosedError);
      expect(obj.closed).toBe(true);
      expect(() => obj.map('flows').readAll()).toThrow(BpfClosedError);
    }
    expect(bpfFds()).toBe(before);
  });

  it('a second load or a setting during the load is refused, not raced', async () => {
    using obj = BpfObject.open(objects.loaderTest);
    const p = obj.load();
    await expect(obj.load()).rejects.toThrow(/already loading/);
    expect(() => obj.map('bench').setMaxEntries(10)).toThrow(/being loaded/);
    await p;
    expect(obj.loaded).toBe(true);
  });
});

describe('garbage collection without close', () => {
  it('releases maps, programs and links of unreachable objects', () => {
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      import { BpfObject } from ${JSON.stringify(dist)};
      const bpf = () => readdirSync('/proc/self/fd').filter((fd) => {
        try { return /prog_type|map_type|link_type/.test(readFileSync('/proc/self/fdinfo/' + fd, 'utf8')); } catch { return false; }
      }).length;
      const before = bpf();
      async function leak() {
        const obj = BpfObject.open(${JSON.stringify(objects.loaderTest)});
        await obj.load();
        obj.attachAll();
        return bpf();
      }
      const during = await leak();
      for (let i = 0; i < 20 && bpf() > before; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log(JSON.stringify({ before, during, after: bpf() }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { before: number; during: number; after: number };
    expect(out.during).toBeGreaterThan(out.before + 3);
    expect(out.after).toBe(out.before);
  });
});

describe('garbage collection of objects with open readers', () => {
  const script = (kind: 'ring' | 'perf', unref: boolean) => `
    import { readdirSync, readFileSync } from 'node:fs';
    import { BpfObject } from ${JSON.stringify(dist)};
    const bpf = () => readdirSync('/proc/self/fd').filter((fd) => {
      try { return /prog_type|map_type|link_type/.test(readFileSync('/proc/self/fdinfo/' + fd, 'utf8')); } catch { return false; }
    }).length;
    const before = bpf();
    const ids = [];
    async function leak() {
      const obj = BpfObject.open(${JSON.stringify(objects.buffersTest)});
      await obj.load();
      // Attached where they hardly ever run (a new cgroup): links, not traffic.
      for (const p of obj.programs.values()) ids.push(p.attach({ kind: 'raw_tracepoint', name: 'cgroup_mkdir' }).info().id);
      const r = ${kind === 'ring' ? "obj.openRingBuffer('ring', () => {})" : "obj.openPerfBuffer('perf', () => {})"};
      ${unref ? 'r.unref();' : ''}
    }
    for (let i = 0; i < 5; i++) await leak();
    const during = bpf();
    // An unreferenced object goes at the first collection (1 of 1 here, every run);
    // a referenced one must outlive ten (each a full GC: about 0.13 s in the guests).
    for (let i = 0; i < 10 && bpf() > before; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
    console.log(JSON.stringify({ before, during, after: bpf(), ids }));
    process.exit(0);
  `;
  const run = (kind: 'ring' | 'perf', unref: boolean) => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script(kind, unref)], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as { before: number; during: number; after: number; ids: number[] };
  };

  it.each(['ring', 'perf'] as const)('an unreachable object with an unref()ed %s reader is released: fds closed, links detached', (kind) => {
    const out = run(kind, true);
    expect(out.ids).toHaveLength(10);
    expect(out.during).toBeGreaterThan(out.before + 10);
    expect(out.after).toBe(out.before);
    expect(stillLive(out.ids)).toEqual([]);
  });

  it.each(['ring', 'perf'] as const)('a referenced %s reader keeps its object alive until close(), as an open socket does', (kind) => {
    const out = run(kind, false);
    expect(out.after).toBe(out.during);
  });
});

describe('worker threads', () => {
  it('load, attach, read and terminate in workers while the main thread does the same', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.dist).then(async ({ BpfObject }) => {
        const obj = BpfObject.open(workerData.elf);
        await obj.load();
        const link = obj.program('count_state_btf').attach();
        // bench: a map no program writes, so its count is known.
        parentPort.postMessage({ loaded: true, links: obj.links.length, bench: obj.map('bench').readAll().count, id: link.info().id });
        // Stay alive until terminated, with a link attached.
        setInterval(() => {}, 1000);
      });
    `;
    const workers = Array.from(
      { length: 3 },
      () => new Worker(code, { eval: true, workerData: { dist, elf: objects.loaderTest } }),
    );
    const main = BpfObject.open(objects.loaderTest);
    try {
      const mainLoad = main.load();
      const msgs = await Promise.all(workers.map((w) => new Promise((res, rej) => (w.once('message', res), w.once('error', rej)))));
      await mainLoad;
      // tp_btf: a BPF link on every kernel (classic tracepoints and kprobes are
      // perf events, not BPF links, before 5.15).
      const mainId = main.program('count_state_btf').attach().info().id as number;
      const workerIds = (msgs as Array<{ id: number }>).map((m) => m.id);
      for (const m of msgs) expect(m).toEqual({ loaded: true, links: 1, bench: 0, id: expect.any(Number) });
      expect(new Set([mainId, ...workerIds]).size).toBe(4);
      expect(stillLive([mainId, ...workerIds])).toEqual([mainId, ...workerIds]);
      await Promise.all(workers.map((w) => w.terminate()));
      // A terminated worker's environment is torn down: its objects and links are released.
      await waitFor(() => stillLive(workerIds).length === 0, 5000, 'worker links released');
      expect(stillLive([mainId])).toEqual([mainId]);
      main.close();
      expect(stillLive([mainId])).toEqual([]);
    } finally {
      main.close();
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });

  it('a worker that exits with a ring buffer reader open does not crash the process', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.dist).then(async ({ BpfObject }) => {
        const obj = BpfObject.open(workerData.elf);
        await obj.load();
        obj.openRingBuffer('ring', () => {});
        obj.program('produce_ring').testRun({ ctx: [8, 0] });
        parentPort.postMessage('ready');
      });
    `;
    for (let i = 0; i < 3; i++) {
      const w = new Worker(code, { eval: true, workerData: { dist, elf: objects.buffersTest } });
      await new Promise((res, rej) => (w.once('message', res), w.once('error', rej)));
      await w.terminate();
    }
  });
});

describe('links are file descriptors', () => {
  it('close() on the object releases every link it attached', async () => {
    const obj = BpfObject.open(objects.loaderTest);
    await obj.load();
    // tp_btf is a BPF link on every kernel; a classic tracepoint is one only
    // from 5.15 (before, a perf event with no link id).
    const links = [obj.program('count_state_btf').attach(), obj.program('count_state').attach()];
    const ids = links.map((l) => l.info().id).filter((id): id is number => id !== undefined);
    // The classic tracepoint is a BPF link from 5.15 on.
    expect(ids.length).toBe(kernelAtLeast(5, 15) ? 2 : 1);
    expect(stillLive(ids)).toEqual(ids);
    obj.close();
    expect(stillLive(ids)).toEqual([]);
    expect(links.every((l) => l.closed)).toBe(true);
  });

  it('the kernel releases them when the process ends (no signal handler needed)', () => {
    const script = `
      import { writeSync } from 'node:fs';
      import { BpfObject } from ${JSON.stringify(dist)};
      const obj = BpfObject.open(${JSON.stringify(objects.loaderTest)});
      await obj.load();
      const { links } = obj.attachAll();
      writeSync(1, JSON.stringify(links.map((l) => l.info().id).filter((id) => id !== undefined)));
      process.kill(process.pid, 'SIGKILL');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.signal).toBe('SIGKILL');
    const ids = JSON.parse(r.stdout) as number[];
    expect(ids.length).toBeGreaterThanOrEqual(1);
    expect(process.listenerCount('SIGINT') + process.listenerCount('SIGTERM')).toBe(0);
    expect(stillLive(ids)).toEqual([]);
  });
});
