// Bad input gets a clear, typed error and no crash, and nothing stays behind.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BpfClosedError,
  BpfError,
  BpfNotSupportedError,
  BpfObject,
  BpfObjectFormatError,
  BpfPermissionError,
  BpfVerifierError,
  probeFeature,
} from '../src/index.js';
import { ensureTracefs, runUnprivileged } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'tracer-bpf-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function caught(fn: () => unknown): BpfError {
  try {
    fn();
  } catch (e) {
    return e as BpfError;
  }
  throw new Error('expected an error');
}

async function caughtAsync(fn: () => Promise<unknown>): Promise<BpfError> {
  try {
    await fn();
  } catch (e) {
    return e as BpfError;
  }
  throw new Error('expected an error');
}

describe('opening bad ELF input', () => {
  it('a missing file: ENOENT, named', () => {
    const e = caught(() => BpfObject.open('/nonexistent/dir/x.bpf.o'));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(2);
    expect(e.message).toContain('/nonexistent/dir/x.bpf.o');
  });

  it('random bytes, from a file or a Buffer: a format error', () => {
    const junk = Buffer.alloc(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 2654435761) >>> 24;
    const path = join(tmp, 'junk.o');
    writeFileSync(path, junk);
    for (const src of [path, junk]) {
      const e = caught(() => BpfObject.open(src));
      expect(e).toBeInstanceOf(BpfObjectFormatError);
      expect(e.message).toMatch(/not a valid eBPF ELF object/);
      expect(e.op).toBe('open object');
    }
  });

  it('a truncated ELF: a format error', () => {
    const whole = readFileSync(objects.loaderTest);
    for (const len of [16, 64, Math.floor(whole.length / 2), whole.length - 100]) {
      const e = caught(() => BpfObject.open(whole.subarray(0, len), { name: 'truncated' }));
      expect(e, `truncated to ${len}`).toBeInstanceOf(BpfObjectFormatError);
    }
  });
});

describe('attaching to what does not exist', () => {
  it('a tracepoint that does not exist: ENOENT, naming it', async () => {
    ensureTracefs();
    using obj = BpfObject.open(objects.loaderTest);
    await obj.load();
    const e = caught(() => obj.program('count_state').attach({ kind: 'tracepoint', category: 'sock', name: 'no_such_tracepoint' }));
    expect(e.code).toBe('ENOENT');
    expect(e.message).toContain('attach tracepoint sock/no_such_tracepoint: ENOENT');
    expect(e.program).toBe('count_state');
    expect(obj.links).toHaveLength(0);
  });

  it('a tp_btf target that does not exist: ESRCH before load, naming it', async () => {
    using obj = BpfObject.open(objects.loaderTest);
    const e = caught(() => obj.program('count_state_btf').setAttachTarget('no_such_raw_tracepoint'));
    expect(e.code).toBe('ESRCH');
    expect(e.message).toContain('set attach target no_such_raw_tracepoint: ESRCH');
    expect(e.message).toMatch(/kernel BTF has no function or tracepoint named no_such_raw_tracepoint/);
    // The object is still usable with its own target.
    await obj.load();
    expect(obj.program('count_state_btf').attach().target).toBe('inet_sock_set_state');
  });

  it('a kprobe: not supported where the kernel has no kprobes, ENOENT for a missing function where it has', async () => {
    using obj = BpfObject.open(objects.probesTest);
    obj.program('fentry_sendmsg').setAutoload(false);
    obj.program('fexit_sendmsg').setAutoload(false);
    await obj.load();
    const kprobes = probeFeature('kprobes');
    if (!kprobes.supported) {
      const e = caught(() => obj.program('kprobe_sendmsg').attach());
      expect(e).toBeInstanceOf(BpfNotSupportedError);
      expect((e as BpfNotSupportedError).feature).toBe('kprobes');
      expect(e.message).toMatch(/attach kprobe tcp_sendmsg: ENOENT.*no kprobes/);
    } else {
      const link = obj.program('kprobe_sendmsg').attach();
      expect(link.target).toBe('tcp_sendmsg');
      const e = caught(() => obj.program('kprobe_sendmsg').attach({ kind: 'kprobe', target: 'no_such_function_xyz' }));
      expect(e.code).toBe('ENOENT');
      expect(e.message).toContain('no_such_function_xyz');
    }
  });

  it('fentry where the kernel refuses it: not supported, explained, naming the backend to use', async () => {
    using obj = BpfObject.open(objects.probesTest);
    obj.program('kprobe_sendmsg').setAutoload(false);
    obj.program('kretprobe_sendmsg').setAutoload(false);
    const fentry = probeFeature('fentry');
    if (fentry.supported) {
      await obj.load();
      expect(obj.program('fentry_sendmsg').attach().kind).toBe('fentry');
      return;
    }
    const e = await caughtAsync(() => obj.load());
    expect(e).toBeInstanceOf(BpfNotSupportedError);
    expect((e as BpfNotSupportedError).feature).toBe('fentry');
    expect(e.code).toBe(fentry.code);
    expect(e.program).toMatch(/^(fentry|fexit)_sendmsg$/);
    // Both refused programs named in one error (not one per failed load).
    expect((e as BpfNotSupportedError).programs).toEqual(['fentry_sendmsg', 'fexit_sendmsg']);
    expect(e.message).toContain('setAutoload(false) on fentry_sendmsg, fexit_sendmsg');
    expect(e.message).toMatch(/kernel refused the (fentry|fexit) program although this process has CAP_BPF/);
    expect(e.message).toMatch(/kprobe or tracepoint backend/);
    expect(e.message).not.toMatch(/memlock/i);
  });
});

describe('verifier rejections', () => {
  it('carry the verifier log of the rejected program', async () => {
    using obj = BpfObject.open(objects.rejectedTest);
    obj.program('reject_ctx_oob').setAutoload(false);
    const e = await caughtAsync(() => obj.load());
    expect(e).toBeInstanceOf(BpfVerifierError);
    expect(e.program).toBe('reject_null_deref');
    expect(e.syscall).toBe('BPF_PROG_LOAD');
    expect((e as BpfVerifierError).verifierLog).toMatch(/invalid mem access 'map_value_or_null'/);
  });

  it('concurrent loads never mix their logs', async () => {
    const make = (keep: string) => {
      const o = BpfObject.open(objects.rejectedTest, { name: `rej_${keep.slice(7, 12)}` });
      for (const p of o.programs.values()) if (p.name !== keep) p.setAutoload(false);
      return o;
    };
    const objs = Array.from({ length: 6 }, (_, i) => make(i % 2 ? 'reject_null_deref' : 'reject_ctx_oob'));
    const results = await Promise.allSettled(objs.map((o) => o.load()));
    results.forEach((r, i) => {
      expect(r.status).toBe('rejected');
      const e = (r as PromiseRejectedResult).reason as BpfVerifierError;
      const mine = i % 2 ? 'reject_null_deref' : 'reject_ctx_oob';
      const other = i % 2 ? 'reject_ctx_oob' : 'reject_null_deref';
      expect(e.program).toBe(mine);
      expect(e.log).toContain(mine);
      expect(e.log).not.toContain(other);
      expect(e.verifierLog).toMatch(i % 2 ? /map_value_or_null/ : /dereference of modified ctx ptr|invalid bpf_context access/);
    });
    for (const o of objs) o.close();
  });

  it('libbpf prints nothing to stderr unless asked', () => {
    const script = (level: string) => `
      import { BpfObject, setLibbpfLogLevel } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).pathname)};
      ${level ? `setLibbpfLogLevel(${JSON.stringify(level)});` : ''}
      const o = BpfObject.open(${JSON.stringify(objects.rejectedTest)});
      try { await o.load(); } catch (e) { console.log(e.name); }
      o.close();
    `;
    const quiet = spawnSync(process.execPath, ['--input-type=module', '-e', script('')], { encoding: 'utf8' });
    expect(quiet.stdout.trim()).toBe('BpfVerifierError');
    expect(quiet.stderr).toBe('');
    const loud = spawnSync(process.execPath, ['--input-type=module', '-e', script('warn')], { encoding: 'utf8' });
    expect(loud.stdout.trim()).toBe('BpfVerifierError');
    expect(loud.stderr).toContain('BEGIN PROG LOAD LOG');
  });
});

describe('use after close', () => {
  it('every handle says it is closed', async () => {
    const obj = BpfObject.open(objects.loaderTest);
    await obj.load();
    const link = obj.program('count_state_btf').attach();
    const map = obj.map('flows');
    obj.close();
    obj.close(); // idempotent
    expect(link.closed).toBe(true);
    for (const fn of [
      () => map.lookup(Buffer.alloc(48)),
      () => map.readAll(),
      () => obj.program('count_state').attach(),
      () => link.info(),
      () => obj.setGlobal('target_port', 1),
      () => obj.globals(),
    ]) {
      const e = caught(fn);
      expect(e).toBeInstanceOf(BpfClosedError);
      expect(e.code).toBe('ERR_BPF_CLOSED');
    }
    await expect(obj.load()).rejects.toBeInstanceOf(BpfClosedError);
  });
});

describe('an unprivileged user', () => {
  it('gets the permission error, with EPERM from the named bpf operation', () => {
    const r = runUnprivileged(
      () => `
        import { BpfObject } from '@tracer-bpf/loader';
        const o = BpfObject.open(${JSON.stringify('./loader_test.bpf.o')});
        try { await o.load(); console.log(JSON.stringify({ ok: true })); }
        catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, errno: e.errno, syscall: e.syscall, message: e.message })); }
        o.close();
      `,
      [objects.loaderTest],
    );
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout.trim()) as Record<string, string | number>;
    expect(out.name).toBe('BpfPermissionError');
    expect(out.code).toBe('EPERM');
    expect(out.errno).toBe(1);
    expect(out.syscall).toMatch(/^BPF_(PROG_LOAD|MAP_CREATE)$/);
    expect(out.message).toMatch(/uid 65534\) lacks CAP_BPF/);
    expect(out.message).not.toMatch(/memlock/i);
  });
});
