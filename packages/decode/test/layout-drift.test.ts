// The committed table is what the built object gives, the built object is what
// the header gives, and the check notices a changed header or a broken rule.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abi } from '../src/index.js';
import { ABI_H, ABI_OBJECT, ABI_SOURCE, buildDir, codegen, compileBpf, LAYOUT_GEN } from './helpers.js';

const committed = readFileSync(LAYOUT_GEN, 'utf8');

describe('src/layout.gen.ts', () => {
  it('is what codegen makes of bpf/obj/tracer_abi.bpf.o (run `pnpm --filter @tracer-bpf/decode codegen` if not)', () => {
    const r = codegen('--stdout');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(committed);
    expect(codegen('--check').status).toBe(0);
  });

  it('is what the header gives today (the object is rebuilt here, so a stale obj/ cannot hide a header change)', () => {
    const dir = buildDir('fresh');
    const obj = join(dir, 'tracer_abi.bpf.o');
    compileBpf(ABI_SOURCE, obj);
    expect(codegen('--elf', obj, '--stdout').stdout, 'the header changed: run `pnpm --filter @tracer-bpf/bpf build` then `pnpm --filter @tracer-bpf/decode codegen`').toBe(committed);
    // bpf/obj itself is up to date with the header too.
    expect(codegen('--elf', ABI_OBJECT, '--stdout').stdout, 'bpf/obj/tracer_abi.bpf.o is stale: rebuild it (cd bpf && make -B obj/tracer_abi.bpf.o)').toBe(committed);
  });

  it('changes when the header changes', () => {
    const dir = buildDir('changed');
    mkdirSync(join(dir, 'include', 'tracer_bpf'), { recursive: true });
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'include', 'tracer_bpf', 'abi.h'), readFileSync(ABI_H, 'utf8').replaceAll('rtt_var', 'rtt_variance'));
    copyFileSync(ABI_SOURCE, join(dir, 'src', 'tracer_abi.bpf.c'));
    const obj = join(dir, 'changed.bpf.o');
    compileBpf(join(dir, 'src', 'tracer_abi.bpf.c'), obj);
    const r = codegen('--elf', obj, '--stdout');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toBe(committed);
    expect(r.stdout).toContain('rtt_variance: { offset: 8, size: 4, type: \'u32\' }');
  });

  it('refuses structs that break the header rules, naming every problem', () => {
    const dir = buildDir('rules');
    const src = join(dir, 'bad.bpf.c');
    writeFileSync(
      src,
      `#include <linux/types.h>
enum color { RED, GREEN };
struct bad {
	_Bool flag;
	__u32 implicit_pad_before;
	__u32 bits : 3;
	__u32 more : 29;
	void *ptr;
	enum color color;
	char name[4];
	unsigned int count;
	__u8 tail;
};
struct bad abi_bad;
`,
    );
    const obj = join(dir, 'bad.bpf.o');
    compileBpf(src, obj);
    const r = codegen('--elf', obj, '--stdout');
    expect(r.status).toBe(1);
    for (const problem of [
      'struct bad.flag: _Bool is a bool',
      'struct bad.implicit_pad_before: 3 bytes of implicit padding before it',
      'struct bad.bits: a bitfield',
      'struct bad.more: a bitfield',
      'struct bad.ptr: void * is a ptr',
      'struct bad.color: enum color is a enum',
      'struct bad.name: an array of char is not a fixed-width type (use __u8 ... __s64)',
      'struct bad.count: unsigned int is not a fixed-width type',
      'struct bad: 3 bytes of implicit padding at the end',
    ]) {
      expect(r.stderr).toContain(problem);
    }
  });

  it('holds every struct and enum the header declares', () => {
    const header = readFileSync(ABI_H, 'utf8');
    const declared = (kind: string): string[] => [...header.matchAll(new RegExp(`^${kind} (\\w+) \\{`, 'gm'))].map((m) => m[1] as string);
    expect(Object.keys(abi.structs).sort()).toEqual(declared('struct').sort());
    expect(Object.keys(abi.enums).sort()).toEqual(declared('enum').sort());
    expect(declared('struct').length).toBeGreaterThanOrEqual(6);
  });
});
