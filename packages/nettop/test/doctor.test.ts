import { describe, expect, it } from 'vitest';
import type { ResolvedOffsets } from '@tracer-bpf/offsetguess';
import { backendsCheck, btfCheck, canTrace, featureCheck, lockdownCheck, memlockCheck, offsetsCheck, privilegeCheck, renderChecks, tracefsCheck, unprivilegedBpfCheck } from '../src/doctor.js';

const ROOT = { sysAdmin: true, bpf: true, perfmon: true, tracing: true, uid: 0 };
const USER = { sysAdmin: false, bpf: false, perfmon: false, tracing: false, uid: 1000 };

describe('doctor checks', () => {
  it('privilege', () => {
    expect(privilegeCheck(ROOT)).toMatchObject({ status: 'ok', detail: 'uid 0: CAP_BPF CAP_PERFMON CAP_SYS_ADMIN' });
    expect(privilegeCheck(USER)).toMatchObject({ status: 'FAIL', detail: 'uid 1000 has no BPF capability: tracing needs root or CAP_BPF+CAP_PERFMON' });
    expect(privilegeCheck({ ...USER, bpf: true, perfmon: true, tracing: true }).status).toBe('ok');
  });

  it('unprivileged_bpf_disabled is only information', () => {
    expect(unprivilegedBpfCheck('2\n', ROOT)).toMatchObject({ status: 'ok', detail: expect.stringContaining('=2 (irrelevant') });
    expect(unprivilegedBpfCheck(undefined, USER).detail).toContain('=unknown');
  });

  it('lockdown', () => {
    expect(lockdownCheck(undefined).status).toBe('ok');
    expect(lockdownCheck('[none] integrity confidentiality\n')).toMatchObject({ status: 'ok', detail: 'lockdown=none' });
    expect(lockdownCheck('none [integrity] confidentiality\n')).toMatchObject({ status: 'ok', detail: 'lockdown=integrity' });
    expect(lockdownCheck('none integrity [confidentiality]\n').status).toBe('FAIL');
  });

  it('BTF, tracefs, backends', () => {
    expect(btfCheck(true).status).toBe('ok');
    // Without BTF the offsets are guessed: a warning, the offsets check says whether the guess works.
    expect(btfCheck(false)).toMatchObject({ status: 'warn', detail: expect.stringContaining('guessed') });
    expect(tracefsCheck('/sys/kernel/tracing').status).toBe('ok');
    expect(tracefsCheck(undefined).status).toBe('warn');
    expect(backendsCheck(true, false)).toBeUndefined();
    expect(backendsCheck(false, false)?.status).toBe('FAIL');
  });

  it('memlock matters before 5.11 only', () => {
    const limits = 'Limit                     Soft Limit           Hard Limit           Units\nMax locked memory         65536                65536                bytes\n';
    expect(memlockCheck(limits, '6.1.0-18-amd64')).toMatchObject({ status: 'ok', detail: expect.stringContaining('RLIMIT_MEMLOCK 64 KiB (not used') });
    expect(memlockCheck(limits, '5.10.0-28-amd64').status).toBe('warn');
    expect(memlockCheck(limits.replace(/65536 +65536/, 'unlimited unlimited'), '5.10.0').status).toBe('ok');
  });

  it('features warn, never fail, and the output is one line a check', () => {
    expect(featureCheck('kprobes', { feature: 'kprobes', supported: false, op: 'x', detail: 'no kprobes' }, 'not needed')).toEqual({ name: 'kprobes', status: 'warn', detail: 'no kprobes: not needed' });
    const checks = [privilegeCheck(ROOT), backendsCheck(false, false)!];
    expect(renderChecks(checks).split('\n')).toEqual([expect.stringMatching(/^ok {4}privilege +uid 0/), expect.stringMatching(/^FAIL {2}backends {1}/), '']);
    expect(canTrace(checks)).toBe(false);
    expect(canTrace([privilegeCheck(ROOT)])).toBe(true);
  });

  it('offsets: guessed, verified against BTF, or why not', () => {
    const base = { offsets: {} as ResolvedOffsets['offsets'], explanation: '' };
    const guessed: ResolvedOffsets = { ...base, source: 'guess', reason: 'kernel BTF is not readable: ENOENT', guessMs: 41.6, fields: [{ field: 'skcFamily', value: 16, how: 'x' }, { field: 'skbHead', value: undefined, how: 'no kprobes' }] } as ResolvedOffsets;
    expect(offsetsCheck(guessed, false)).toEqual({ name: 'offsets', status: 'ok', detail: '1 fields guessed in 42 ms (kernel BTF is not readable: ENOENT); not found: skbHead' });
    const agree = { ...base, source: 'btf', reason: 'verify', guessMs: 50, fields: [], differences: [{ field: 'skbHead', btf: 200, guess: undefined, note: 'not guessed: no kprobes' }] } as unknown as ResolvedOffsets;
    expect(offsetsCheck(agree, true)).toEqual({ name: 'offsets', status: 'ok', detail: 'kernel BTF (used), and a guess in 50 ms agrees on every field it found; not guessed here: skbHead' });
    const differ = { ...agree, differences: [{ field: 'skcDport', btf: 12, guess: 14, note: 'different offsets' }] } as unknown as ResolvedOffsets;
    expect(offsetsCheck(differ, true)).toMatchObject({ status: 'warn', detail: expect.stringContaining('differs on skcDport') });
    expect(offsetsCheck(new Error('ERR_GUESS_AMBIGUOUS: skcDport: 2 candidates'), false)).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('no kernel BTF and guessing failed: ERR_GUESS_AMBIGUOUS') });
    expect(offsetsCheck(new Error('x'), true).status).toBe('warn');
  });
});
