// Contracts between the addon and TypeScript, and the pure modules, checked
// without root or a kernel: the operation table, errno names, the batch wire
// format, section parsing, global encoding, argument checks and what the
// published declarations expose.
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { native } from '../src/binding.js';
import { errnoName } from '../src/errno.js';
import { fieldsFromNative } from '../src/error-factory.js';
import { BpfArgumentError } from '../src/errors.js';
import { encodeGlobal } from '../src/globals.js';
import { OPERATIONS } from '../src/operations.js';
import { splitBatch } from '../src/readers.js';
import { parseSection } from '../src/section.js';
import { integer, oneOf, options, text } from '../src/validate.js';

describe('the operation table', () => {
  it('names every operation id the addon reports, and nothing else', () => {
    expect(new Set(native.operations())).toEqual(new Set(Object.keys(OPERATIONS)));
  });

  it('errors are built from ids and numbers: the code from the errno, the op from the table', () => {
    const f = fieldsFromNative({ opId: 'load_object', errno: 13, syscall: 'BPF_PROG_LOAD', program: 'p', message: 'Permission denied' });
    expect(f).toEqual({ code: 'EACCES', op: 'load object', errno: 13, syscall: 'BPF_PROG_LOAD', program: 'p', message: 'Permission denied' });
    expect(fieldsFromNative({ opId: 'map_lookup', code: 'ERR_BPF_CLOSED', message: 'closed' })).toEqual({ code: 'ERR_BPF_CLOSED', op: 'map lookup', message: 'closed' });
  });
});

describe('errno names', () => {
  it('kernel, kernel-internal and libbpf numbers', () => {
    expect([1, 2, 7, 13, 22, 95, 524, 4001, 4007].map(errnoName)).toEqual([
      'EPERM', 'ENOENT', 'E2BIG', 'EACCES', 'EINVAL', 'EOPNOTSUPP', 'ENOTSUPP', 'LIBBPF_ERRNO__FORMAT', 'LIBBPF_ERRNO__VERIFY',
    ]);
    expect(errnoName(-1)).toBe('EPERM');
    expect(errnoName(99999)).toBe('ERR_BPF_ERRNO');
    for (const [name, n] of Object.entries(constants.errno)) if (name !== 'ENOTSUP' && name !== 'EWOULDBLOCK') expect(errnoName(n)).toBe(name);
  });
});

describe('the batch wire format', () => {
  it('splits u32 length | u32 cpu | data padded to 8', () => {
    const b = Buffer.alloc(8 + 8 + 8 + 16);
    b.writeUInt32LE(3, 0);
    b.writeUInt32LE(1, 4);
    b.write('abc', 8);
    b.writeUInt32LE(9, 16);
    b.writeUInt32LE(0, 20);
    b.write('123456789', 24);
    const cpus: number[] = [];
    expect(splitBatch(b, 2, cpus).map((r) => r.toString())).toEqual(['abc', '123456789']);
    expect(cpus).toEqual([1, 0]);
  });
});

describe('section names', () => {
  it('as libbpf reads them', () => {
    expect(parseSection('kprobe/tcp_sendmsg+8')).toEqual({ kind: 'kprobe', target: 'tcp_sendmsg', offset: 8 });
    expect(parseSection('kretprobe/tcp_sendmsg')).toEqual({ kind: 'kretprobe', target: 'tcp_sendmsg', offset: 0 });
    expect(parseSection('fentry.s/do_x')).toEqual({ kind: 'fentry', target: 'do_x' });
    expect(parseSection('tp/sock/inet_sock_set_state')).toEqual({ kind: 'tracepoint', category: 'sock', name: 'inet_sock_set_state' });
    expect(parseSection('raw_tp/sched_switch')).toEqual({ kind: 'raw_tracepoint', name: 'sched_switch' });
    expect(parseSection('xdp')).toEqual({ kind: 'other', section: 'xdp' });
  });
});

describe('global encoding', () => {
  const u16 = { name: 'port', section: '.rodata', offset: 0, size: 2, readonly: true, kind: 'int', signed: false } as const;
  it('checks type and range against the BTF description', () => {
    expect([...encodeGlobal(u16, 'o', 8080)]).toEqual([0x90, 0x1f]);
    expect(() => encodeGlobal(u16, 'o', 65536)).toThrow(/out of range for u16/);
    expect(() => encodeGlobal(u16, 'o', 'x')).toThrow(BpfArgumentError);
  });
});

describe('argument checks', () => {
  const ctx = { op: 'do thing', map: 'm' };
  it('name the operation and the argument', () => {
    for (const [fn, arg] of [
      [() => integer(ctx, 'n', 2 ** 32), 'n'],
      [() => integer(ctx, 'n', Number.NaN), 'n'],
      [() => text(ctx, 's', 'a\0b'), 's'],
      [() => oneOf(ctx, 'mode', 'x', ['a', 'b']), 'mode'],
      [() => options(ctx, 'opts', { typo: 1 }, ['known']), 'opts'],
      [() => options(ctx, 'opts', 'str', ['known']), 'opts'],
    ] as const) {
      let e: unknown;
      try {
        fn();
      } catch (err) {
        e = err;
      }
      expect(e).toBeInstanceOf(BpfArgumentError);
      expect({ argument: (e as BpfArgumentError).argument, op: (e as BpfArgumentError).op, map: (e as BpfArgumentError).map }).toEqual({ argument: arg, op: 'do thing', map: 'm' });
    }
  });
});

describe('the published declarations', () => {
  const dts = readFileSync(new URL('../dist/index.d.ts', import.meta.url), 'utf8');
  it('hold no @internal member and none of the addon wire formats', () => {
    expect(dts).not.toMatch(/@internal/);
    expect(dts).not.toMatch(/\bNative(Handle|Binding|ProgramDesc|MapDesc|ErrorInfo|ProbeResult)\b/);
    expect(dts).not.toMatch(/\bsplitBatch\b|\bsystemLinkIds\b|\bencodeGlobal\b/);
  });
  it('name the closed set of error codes', () => {
    expect(dts).toMatch(/type BpfErrorCode = ErrnoCode \| UsageCode/);
  });
});
