// Kprobe target resolution through kallsyms, with compiler clones allowed
// only on request (a fixture file for every case, then the running kernel).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfError, resolveKernelFunction } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tracer-bpf-kallsyms-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = join(dir, 'kallsyms');
writeFileSync(
  fixture,
  [
    'ffffffff81000000 T tcp_sendmsg',
    'ffffffff81000100 t tcp_get_info.part.0',
    'ffffffff81000200 t inet_csk_accept.isra.0',
    'ffffffff81000300 t inet_csk_accept.constprop.0',
    'ffffffff81000400 t both_exact',
    'ffffffff81000500 t both_exact.isra.0',
    'ffffffff81000600 d some_data_symbol',
    'ffffffff81000700 t mod_func\t[some_module]',
    'ffffffff81000800 t deep.constprop.0.isra.0',
    '',
  ].join('\n'),
);

const err = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e as BpfError;
  }
  throw new Error('expected an error');
};

describe('resolveKernelFunction', () => {
  it('takes an exact symbol as it is, even when clones exist', () => {
    expect(resolveKernelFunction('tcp_sendmsg', {}, fixture)).toEqual({ symbol: 'tcp_sendmsg' });
    expect(resolveKernelFunction('both_exact', { allowClone: true }, fixture)).toEqual({ symbol: 'both_exact' });
    expect(resolveKernelFunction('mod_func', {}, fixture)).toEqual({ symbol: 'mod_func' });
  });

  it('refuses a function that exists only as a clone unless allowed', () => {
    const e = err(() => resolveKernelFunction('tcp_get_info', {}, fixture));
    expect(e.code).toBe('ENOENT');
    expect(e.message).toMatch(/tcp_get_info exists only as a compiler clone \(tcp_get_info\.part\.0\).*allowClone/);
    expect(resolveKernelFunction('tcp_get_info', { allowClone: true }, fixture)).toEqual({ symbol: 'tcp_get_info.part.0', clone: 'part' });
    expect(resolveKernelFunction('tcp_get_info', { allowClone: ['part'] }, fixture).symbol).toBe('tcp_get_info.part.0');
    expect(() => resolveKernelFunction('tcp_get_info', { allowClone: ['isra'] }, fixture)).toThrow(/only as a compiler clone/);
  });

  it('several matching clones are an error naming them all', () => {
    const e = err(() => resolveKernelFunction('inet_csk_accept', { allowClone: true }, fixture));
    expect(e.code).toBe('ERR_BPF_AMBIGUOUS');
    expect(e.message).toContain('inet_csk_accept.isra.0');
    expect(e.message).toContain('inet_csk_accept.constprop.0');
    // Narrowing by kind or naming the clone resolves it.
    expect(resolveKernelFunction('inet_csk_accept', { allowClone: ['isra'] }, fixture).symbol).toBe('inet_csk_accept.isra.0');
    expect(resolveKernelFunction('inet_csk_accept', { allowClone: ['inet_csk_accept.constprop.0'] }, fixture).symbol).toBe(
      'inet_csk_accept.constprop.0',
    );
    expect(resolveKernelFunction('inet_csk_accept.constprop.0', {}, fixture)).toEqual({ symbol: 'inet_csk_accept.constprop.0', clone: 'constprop' });
  });

  it('data symbols and unknown names are not functions', () => {
    expect(err(() => resolveKernelFunction('some_data_symbol', {}, fixture)).code).toBe('ENOENT');
    expect(err(() => resolveKernelFunction('nope', { allowClone: true }, fixture)).message).toMatch(/no kernel function named nope/);
    expect(resolveKernelFunction('deep', { allowClone: true }, fixture).symbol).toBe('deep.constprop.0.isra.0');
  });

  it('on the running kernel: real functions resolve, and a clone-only function needs allowClone', () => {
    expect(resolveKernelFunction('tcp_sendmsg')).toEqual({ symbol: 'tcp_sendmsg' });
    // Find a function this kernel has only as a single clone.
    const text = readFileSync('/proc/kallsyms', 'utf8');
    const names = new Set<string>();
    const clones = new Map<string, string[]>();
    for (const line of text.split('\n')) {
      const [, type, sym] = line.split(/\s+/);
      if (type !== 't' && type !== 'T') continue;
      if (!sym) continue;
      const m = /^(.+?)\.(isra|part|constprop)\.\d+$/.exec(sym);
      if (m?.[1]) clones.set(m[1], [...(clones.get(m[1]) ?? []), sym]);
      else names.add(sym);
    }
    const only = [...clones].find(([base, list]) => !names.has(base) && list.length === 1);
    expect(only, 'a clone-only function on this kernel').toBeDefined();
    const [base, [clone]] = only as [string, [string]];
    expect(() => resolveKernelFunction(base)).toThrow(/only as a compiler clone/);
    expect(resolveKernelFunction(base, { allowClone: true }).symbol).toBe(clone);
  });
});
