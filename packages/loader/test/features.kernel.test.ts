// Feature probes try the real thing; what they say must match what actually
// happens when the same feature is used through the loader on this kernel.
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { describe, expect, it } from 'vitest';
import { BpfObject, probeFeature, probeFeatures, resetFeatureCache } from '../src/index.js';
import { BpfError, BpfNotSupportedError } from '../src/index.js';
import { ensureTracefs, runUnprivileged } from './helpers.js';
import { expectedFeatures } from './kernel-expect.js';

async function works(fn: () => Promise<unknown> | unknown): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch {
    return false;
  }
}

describe('feature probes', () => {
  it('answer every feature with an operation and a detail, and cache the answer', () => {
    const all = probeFeatures();
    for (const [name, s] of Object.entries(all)) {
      expect(s.feature).toBe(name);
      expect(typeof s.supported).toBe('boolean');
      expect(s.op.length).toBeGreaterThan(0);
      expect(s.detail.length).toBeGreaterThan(0);
      if (!s.supported) expect(s.code).toMatch(/^E[A-Z0-9]+$/);
      expect(probeFeature(s.feature)).toBe(s);
    }
    resetFeatureCache();
    expect(probeFeature('ringbuf')).not.toBe(all.ringbuf);
    expect(probeFeature('ringbuf').supported).toBe(all.ringbuf.supported);
  });

  it('agree with real use: tp_btf, classic tracepoints, raw tracepoints, ring buffer, batch ops', async () => {
    ensureTracefs();
    resetFeatureCache();
    const f = probeFeatures();
    expect(f.kernelBtf.supported).toBe(true); // the project's machines have BTF (CO-RE in the test object needs it)
    using obj = BpfObject.open(objects.loaderTest);
    await obj.load();
    expect(await works(() => obj.program('count_state_btf').attach())).toBe(f.tpBtf.supported);
    expect(await works(() => obj.program('count_state').attach())).toBe(f.tracepoints.supported);
    expect(await works(() => obj.map('flows').readAll({ method: 'batch' }))).toBe(f.batchOps.supported);
    using buf = BpfObject.open(objects.buffersTest);
    expect(await works(() => buf.load())).toBe(f.ringbuf.supported);
    using raw = BpfObject.open(objects.rejectedTest);
    for (const p of raw.programs.values()) p.setAutoload(p.name === 'accept_ok');
    await raw.load();
    expect(await works(() => raw.program('accept_ok').attach({ kind: 'raw_tracepoint', name: 'sched_switch' }))).toBe(
      f.rawTracepoints.supported,
    );
  });

  it('agree with real use: kprobes and fentry', async () => {
    const f = probeFeatures();
    using kp = BpfObject.open(objects.probesTest);
    kp.program('fentry_sendmsg').setAutoload(false);
    kp.program('fexit_sendmsg').setAutoload(false);
    await kp.load();
    // attach() makes the real system call, whatever the probe said: where it
    // fails, the addon's own error (op, errno, syscall) is the cause.
    let attachError: unknown;
    try {
      kp.program('kprobe_sendmsg').attach();
    } catch (e) {
      attachError = e;
    }
    expect(attachError === undefined).toBe(f.kprobes.supported);
    if (attachError) {
      expect(attachError).toBeInstanceOf(BpfNotSupportedError);
      const cause = (attachError as BpfError).cause as BpfError;
      expect(cause).toBeInstanceOf(BpfError);
      expect([cause.op, typeof cause.errno]).toEqual(['attach kprobe', 'number']);
    }
    using fe = BpfObject.open(objects.probesTest);
    fe.program('kprobe_sendmsg').setAutoload(false);
    fe.program('kretprobe_sendmsg').setAutoload(false);
    fe.program('fexit_sendmsg').setAutoload(false);
    expect(await works(async () => (await fe.load(), fe.program('fentry_sendmsg').attach()))).toBe(f.fentry.supported);
  });

  it('suggest only alternatives the other probes found: no fentry where fentry is refused', () => {
    const f = probeFeatures();
    if (f.kprobes.supported) return expect(f.kprobes.detail).toMatch(/works|writable/);
    expect(f.kprobes.detail).toMatch(f.fentry.supported ? /use tracepoints or fentry/ : /use tracepoints \(fentry is refused here too\)/);
  });

  it('without privilege say so: EPERM / EACCES, never "not mounted" or EOPNOTSUPP', () => {
    const r = runUnprivileged(
      () => `
        import { probeFeatures } from '@tracer-bpf/loader';
        console.log(JSON.stringify(probeFeatures()));
      `,
    );
    expect(r.stderr).toBe('');
    const got = JSON.parse(r.stdout) as Record<string, { supported: boolean; code?: string; detail: string }>;
    const summary = (n: string) => ({ supported: got[n]?.supported, code: got[n]?.code, privilege: /lacks the privilege/.test(got[n]?.detail ?? '') });
    expect(['ringbuf', 'batchOps', 'tracepoints', 'rawTracepoints', 'tpBtf'].map(summary)).toEqual([
      { supported: false, code: 'EPERM', privilege: true },
      { supported: false, code: 'EPERM', privilege: true },
      { supported: false, code: 'EACCES', privilege: true },
      { supported: false, code: 'EPERM', privilege: true },
      { supported: false, code: 'EPERM', privilege: true },
    ]);
    for (const s of Object.values(got)) {
      expect(s.detail).not.toMatch(/not mounted/);
      expect(s.code).not.toBe('EOPNOTSUPP');
    }
  });

  it('find every feature the kernel config promises (and only known refusals missing)', () => {
    ensureTracefs();
    resetFeatureCache();
    const expected = expectedFeatures();
    const got = probeFeatures();
    for (const [name, e] of Object.entries(expected)) {
      const s = got[name as keyof typeof got];
      expect({ feature: name, supported: s.supported }, `${name}: ${e.why}; probe said: ${s.detail}`).toEqual({
        feature: name,
        supported: e.expected,
      });
    }
  });
});
