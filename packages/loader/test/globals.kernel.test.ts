// Globals set by name before load are type- and size-checked against BTF,
// and their values reach the kernel (the traffic test relies on target_port).
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { describe, expect, it } from 'vitest';
import { BpfArgumentError, BpfObject } from '../src/index.js';

describe('globals', () => {
  it('are described from BTF', () => {
    using obj = BpfObject.open(objects.loaderTest);
    const g = obj.globals();
    expect(g.get('target_port')).toMatchObject({ kind: 'int', size: 2, signed: false, readonly: true });
    expect(g.get('signed_knob')).toMatchObject({ kind: 'int', size: 8, signed: true });
    expect(g.get('enabled')).toMatchObject({ kind: 'bool', size: 1 });
    expect(g.get('tag')).toMatchObject({ kind: 'array', size: 16, length: 16, elemSize: 1 });
  });

  it('reject values of the wrong type or range, naming the variable and its type', () => {
    using obj = BpfObject.open(objects.loaderTest);
    const cases: Array<[string, unknown, RegExp]> = [
      ['target_port', 70_000, /70000 is out of range for u16 \(0\.\.65535\)/],
      ['target_port', -1, /out of range for u16/],
      ['target_port', 1.5, /target_port is u16: expected an integer/],
      ['target_port', 'http', /expected an integer/],
      ['signed_knob', 1n << 63n, /out of range for s64/],
      ['enabled', 1, /enabled is a bool: expected true or false/],
      ['tag', 'x'.repeat(16), /holds at most 15 plus the NUL/],
      ['tag', 42, /pass a string or a Uint8Array of 16 bytes/],
      ['target_port', Buffer.alloc(4), /target_port is 2 bytes \(u16\), got 4/],
      ['no_such_global', 1, /no global named no_such_global \(there are: .*target_port/],
    ];
    for (const [name, value, re] of cases) {
      let e: unknown;
      try {
        obj.setGlobal(name, value as number);
      } catch (err) {
        e = err;
      }
      expect(e, `${name} = ${String(value)}`).toBeInstanceOf(BpfArgumentError);
      expect((e as Error).message).toMatch(re);
    }
  });

  it('accept values in range, including the extremes, and reach the kernel', async () => {
    using obj = BpfObject.open(objects.loaderTest);
    obj.setGlobals({ target_port: 65535, signed_knob: -(1n << 63n), enabled: false, tag: 'hello' });
    obj.setGlobal('target_port', 0).setGlobal('signed_knob', -1);
    await obj.load();
    // .rodata is a frozen array map: its bytes are readable after load.
    const rodata = [...obj.maps.values()].find((m) => m.name.endsWith('.rodata'));
    const bytes = rodata?.lookup(Buffer.alloc(4)) as Buffer;
    const g = obj.globals();
    const at = (n: string) => g.get(n)?.offset as number;
    expect(bytes.readUInt16LE(at('target_port'))).toBe(0);
    expect(bytes.readBigInt64LE(at('signed_knob'))).toBe(-1n);
    expect(bytes[at('enabled')]).toBe(0);
    expect(bytes.subarray(at('tag'), at('tag') + 6).toString('latin1')).toBe('hello\0');
  });
});
