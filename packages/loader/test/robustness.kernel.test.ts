// Adversarial use: whatever a caller passes or does, the loader answers with
// a typed error naming the operation and the argument, and never hangs,
// spins or aborts its host process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfArgumentError, BpfError, BpfObject } from '../src/index.js';
import { caught, caughtAsync, ensureTracefs } from './helpers.js';

const dist = new URL('../dist/index.js', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'tracer-bpf-robust-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function argumentError(fn: () => unknown, argument: string, op: RegExp): BpfArgumentError {
  const e = caught(fn);
  expect(e).toBeInstanceOf(BpfArgumentError);
  expect({ code: e.code, argument: e.argument }).toEqual({ code: 'ERR_BPF_ARG', argument });
  expect(e.op).toMatch(op);
  return e as unknown as BpfArgumentError;
}

describe('a worker terminated while its load() runs', () => {
  it('never aborts the process (one and two loads in flight, several rounds)', () => {
    const script = `
      import { Worker } from 'node:worker_threads';
      const code = \`
        import { parentPort, workerData } from 'node:worker_threads';
        const { BpfObject } = await import(workerData.dist);
        for (let i = 0; i < workerData.loads; i++) BpfObject.open(workerData.elf).load().catch(() => {});
        parentPort.postMessage('loading');
      \`;
      for (let round = 0; round < 6; round++) {
        const w = new Worker(code, { eval: true, workerData: { dist: ${JSON.stringify(dist)}, elf: ${JSON.stringify(objects.loaderTest)}, loads: 1 + (round % 2) } });
        await new Promise((res, rej) => (w.once('message', res), w.once('error', rej)));
        await w.terminate();
      }
      console.log('survived');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect({ signal: r.signal, status: r.status, stdout: r.stdout.trim(), stderr: r.stderr }).toEqual({ signal: null, status: 0, stdout: 'survived', stderr: '' });
    expect(r.stderr).not.toMatch(/terminate called|Napi::Error/);
  });
});

describe('arguments of the wrong type or range', () => {
  let obj: BpfObject;
  beforeAll(async () => {
    obj = BpfObject.open(objects.loaderTest);
    for (const p of obj.programs.values()) p.setAutoload(false);
    obj.map('bench').setMaxEntries(8);
    await obj.load();
  });
  afterAll(() => obj?.close());

  it('readAll: a batch size that is not a positive integer, an unknown method or option', () => {
    const m = obj.map('bench');
    for (const batchSize of [0, Number.NaN, 0.5, -1, '5', 2 ** 32]) {
      argumentError(() => m.readAll({ method: 'batch', batchSize: batchSize as number }), 'batchSize', /^map read map$/);
    }
    argumentError(() => m.readAll({ method: 'bogus' as 'batch' }), 'method', /read map/);
    argumentError(() => m.readAll({ delete: 1 as unknown as boolean }), 'delete', /read map/);
    argumentError(() => m.readAll({ batchsize: 4 } as never), 'opts', /read map/);
    expect(m.readAll({ method: 'batch', batchSize: 1 }).count).toBe(0);
  });

  it('element operations: flags, counts and buffers', () => {
    const m = obj.map('bench');
    const k = Buffer.alloc(48);
    const v = Buffer.alloc(48);
    argumentError(() => m.update(k, v, 'bogus' as 'any'), 'flag', /map update/);
    argumentError(() => m.update(k, 'x' as unknown as Buffer), 'value', /map update/);
    argumentError(() => m.updateBatch(k, v, 0), 'count', /map update batch/);
    argumentError(() => m.updateBatch(k, v, 1.5), 'count', /map update batch/);
    argumentError(() => m.lookupBatch({ started: false }, k, v, 1), 'cursor', /lookup batch/);
    argumentError(() => m.lookupBatch(m.newBatchCursor(), k, v, 1, { delete: 'yes' as unknown as boolean }), 'delete', /lookup batch/);
    expect(m.lookup(k)).toBeUndefined();
  });

  it('programs: booleans, attach options, test runs', () => {
    const p = obj.program('count_state_btf');
    argumentError(() => p.setAutoload('yes' as unknown as boolean), 'autoload', /set autoload/);
    argumentError(() => p.attach({ kind: 'uprobe' } as never), 'kind', /attach/);
    argumentError(() => p.attach({ kind: 'tracepoint', category: 'sock' } as never), 'name', /attach/);
    argumentError(() => p.attach({ kind: 'kprobe', target: 'tcp_sendmsg', maxActive: 8 } as never), 'maxActive', /attach/);
    argumentError(() => p.attach({ kind: 'kretprobe', target: 'tcp_sendmsg', maxActive: 0 }), 'maxActive', /attach/);
    argumentError(() => p.attach({ kind: 'kretprobe', target: 'tcp_sendmsg', maxActive: 8, mode: 'pmu' }), 'maxActive', /attach/);
    argumentError(() => p.testRun({ repeat: -1 }), 'repeat', /test run/);
  });

  it('a pre-load setting out of range never reaches the kernel truncated', () => {
    using o = BpfObject.open(objects.loaderTest);
    const declared = o.map('bench').maxEntries;
    argumentError(() => o.map('bench').setMaxEntries(2 ** 32 + 5), 'n', /set max entries/);
    argumentError(() => o.map('bench').setMaxEntries(0), 'n', /set max entries/);
    argumentError(() => o.map('bench').setAutocreate(0 as unknown as boolean), 'create', /set autocreate/);
    expect(o.map('bench').maxEntries).toBe(declared);
  });

  it('readers: a callback that is not a function, options of the wrong type', async () => {
    using b = BpfObject.open(objects.buffersTest);
    await b.load();
    argumentError(() => b.openRingBuffer('ring', 42 as never), 'onRecords', /open ring buffer/);
    argumentError(() => b.openPerfBuffer('perf', undefined as never), 'onRecords', /open perf buffer/);
    argumentError(() => b.openPerfBuffer('perf', () => {}, { onLost: 'log' as never }), 'onLost', /open perf buffer/);
    argumentError(() => b.openRingBuffer('ring', () => {}, { maxBatchBytes: -1 }), 'maxBatchBytes', /open ring buffer/);
    // Nothing was left open by the refused calls.
    expect(b.map('ring').info().id).toBeGreaterThan(0);
  });
});

describe('paths', () => {
  it('a NUL byte is refused, not truncated to the file its prefix names', () => {
    argumentError(() => BpfObject.open(`${objects.loaderTest}\0.ignored`), 'path', /open object/);
  });

  it('a FIFO (or a directory) is refused at once instead of blocking the thread', () => {
    const fifo = join(tmp, 'fifo');
    spawnSync('mkfifo', [fifo]);
    const t0 = Date.now();
    const e = argumentError(() => BpfObject.open(fifo), 'path', /open object/);
    expect(e.message).toMatch(/not a regular file \(a FIFO\)/);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(caught(() => BpfObject.open(tmp)).message).toMatch(/not a regular file \(a directory\)/);
  });
});

describe('map names', () => {
  it('map(name) is exact: "data" is not ".rodata"; a data section is found by its section name', () => {
    using o = BpfObject.open(objects.loaderTest);
    const e = caught(() => o.map('data'));
    expect(e).toBeInstanceOf(BpfArgumentError);
    expect(e.message).toMatch(/no map named data/);
    const rodata = o.map('.rodata');
    expect([rodata.internal, rodata.name.endsWith('.rodata')]).toEqual([true, true]);
    expect(caught(() => o.map('rodata'))).toBeInstanceOf(BpfArgumentError);
  });
});

describe('the kernel limit of 64 programs on one tracepoint', () => {
  it('the 65th attach says it is the per-tracepoint limit', async () => {
    ensureTracefs();
    const objs: BpfObject[] = [];
    try {
      for (let i = 0; i < 65; i++) {
        const o = BpfObject.open(objects.sizedTest, { name: `limit${i}` });
        objs.push(o);
        o.program('missing_tp').setAutoload(false);
        for (const m of o.maps.values()) m.setAutocreate(false);
        await o.load();
      }
      for (let i = 0; i < 64; i++) objs[i]?.program('on_getppid').attach();
      const e = caught(() => objs[64]?.program('on_getppid').attach()) as unknown as BpfError;
      expect({ code: e.code, errno: e.errno, target: e.target }).toEqual({ code: 'E2BIG', errno: 7, target: 'syscalls/sys_enter_getppid' });
      expect(e.message).toMatch(/at most 64 BPF programs to one tracepoint or kprobe \(BPF_TRACE_MAX_PROGS\)/);
    } finally {
      for (const o of objs) o.close();
    }
  });
});

describe('maps sized at run time', () => {
  it('without sizes the load error says which map and which setter; with them it loads with exactly those sizes', async () => {
    const bare = BpfObject.open(objects.sizedTest);
    const e = await caughtAsync(() => bare.load());
    bare.close();
    expect(e).toBeInstanceOf(BpfArgumentError);
    expect({ code: e.code, syscall: e.syscall, map: e.map }).toEqual({ code: 'EINVAL', syscall: 'BPF_MAP_CREATE', map: 'stacks' });
    expect(e.message).toMatch(/map stacks has no value size and no max entries.*setValueSize\(\) and setMaxEntries\(\) before load/);

    using o = BpfObject.open(objects.sizedTest);
    o.map('stacks').setValueSize(127 * 8).setMaxEntries(1024);
    o.map('sized').setKeySize(16).setValueSize(24);
    expect([o.map('sized').keySize, o.map('sized').valueSize, o.map('sized').valueBytes]).toEqual([16, 24, 24]);
    await o.load();
    expect(o.map('stacks').info()).toMatchObject({ keySize: 4, valueSize: 1016, maxEntries: 1024 });
    expect(o.map('sized').info()).toMatchObject({ keySize: 16, valueSize: 24, maxEntries: 16 });
    o.map('sized').update(Buffer.alloc(16, 1), Buffer.alloc(24, 2));
    expect(o.map('sized').lookup(Buffer.alloc(16, 1))).toEqual(Buffer.alloc(24, 2));
    expect(() => o.map('sized').setValueSize(8)).toThrow(/before load/);
  });
});

describe('attachAll', () => {
  it('tries every program and reports, per program, what attached and what did not and why', async () => {
    ensureTracefs();
    using o = BpfObject.open(objects.sizedTest);
    for (const m of o.maps.values()) m.setAutocreate(false);
    await o.load();
    const report = o.attachAll();
    expect(report.ok).toBe(false);
    expect(report.attached.map((a) => [a.program.name, a.link.kind, a.link.target])).toEqual([['on_getppid', 'tracepoint', 'syscalls/sys_enter_getppid']]);
    expect(report.links).toEqual([report.attached[0]?.link]);
    expect(report.failed.map((f) => [f.program.name, f.error.code, f.error.target])).toEqual([['missing_tp', 'ENOENT', 'sock/no_such_tracepoint']]);
    expect(o.links).toEqual(report.links);
  });
});
