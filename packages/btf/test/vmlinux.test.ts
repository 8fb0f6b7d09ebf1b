// The running kernel's BTF against bpftool (every type) and against the C
// compiler (offsetof/sizeof over vmlinux.h for every member of every struct
// with a unique name).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKernelBtf, type Btf, type BtfStruct } from '../src/index.js';
import { bpftoolJson, diffAgainstBpftool, VMLINUX } from './helpers.js';

let btf: Btf;
let dir: string;

beforeAll(() => {
  if (existsSync(VMLINUX)) btf = loadKernelBtf();
  dir = mkdtempSync(join(tmpdir(), 'btf-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Named members of a struct, including those reached through anonymous members, with their bitfield flag. */
function namedMembers(b: Btf, s: BtfStruct, depth = 0): { name: string; bitfield: boolean }[] {
  const out: { name: string; bitfield: boolean }[] = [];
  for (const m of s.members) {
    if (m.name) {
      out.push({ name: m.name, bitfield: m.bitSize !== 0 });
    } else if (depth < 8) {
      const inner = b.type(b.resolve(m.type));
      if (inner.kind === 'struct' || inner.kind === 'union') out.push(...namedMembers(b, inner, depth + 1));
    }
  }
  return out;
}

/**
 * Whether a struct's layout depends on an enum whose BTF size is not 4 (the
 * kernel's `enum ... __packed`): bpftool 7.1's `format c` prints those enums
 * without the attribute, so the C compiler lays such structs out differently
 * from the kernel. Their members are checked against bpftool's JSON instead.
 */
function hasPackedEnum(b: Btf, id: number, memo: Map<number, boolean>): boolean {
  const rid = b.resolve(id);
  const known = memo.get(rid);
  if (known !== undefined) return known;
  memo.set(rid, false);
  const t = b.type(rid);
  let r = false;
  if (t.kind === 'enum') r = t.size !== 4;
  else if (t.kind === 'array') r = hasPackedEnum(b, t.type, memo);
  else if (t.kind === 'struct' || t.kind === 'union') r = t.members.some((m) => hasPackedEnum(b, m.type, memo));
  memo.set(rid, r);
  return r;
}

// Kernels built without CONFIG_DEBUG_INFO_BTF have no /sys/kernel/btf/vmlinux.
describe.skipIf(!existsSync(VMLINUX))('kernel BTF (/sys/kernel/btf/vmlinux)', () => {
  it('reads every type exactly as bpftool does', () => {
    const expected = bpftoolJson(VMLINUX);
    expect(expected.length).toBeGreaterThan(10_000);
    expect(diffAgainstBpftool(btf, expected)).toEqual([]);
    const kinds = new Set(expected.map((t) => t.kind));
    // The kinds this kernel uses, so a silent skip would show.
    for (const k of ['INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'CONST', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC']) {
      expect(kinds.has(k), k).toBe(true);
    }
  });

  it('agrees with the C compiler on offsetof and sizeof for every member of every uniquely named struct', () => {
    const header = join(dir, 'vmlinux.h');
    writeFileSync(header, execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c'], { maxBuffer: 1 << 30 }));
    const exprs: string[] = [];
    const ours: number[] = [];
    const memo = new Map<number, boolean>();
    let skipped = 0;
    for (const t of btf.types()) {
      if (t.kind !== 'struct' || !t.name) continue;
      if (hasPackedEnum(btf, t.id, memo)) {
        skipped++;
        continue;
      }
      if (btf.findIds(t.name).some((id) => id !== t.id && ['struct', 'union', 'fwd', 'enum', 'enum64'].includes(btf.kind(id)))) continue;
      exprs.push(`sizeof(struct ${t.name})`);
      ours.push(btf.sizeOf(t.id));
      for (const m of namedMembers(btf, t)) {
        if (m.bitfield) continue; // no offsetof in C; bitfields are checked against bpftool above
        exprs.push(`__builtin_offsetof(struct ${t.name}, ${m.name})`);
        ours.push(btf.memberOffset(t.id, [m.name]).offset);
      }
    }
    expect(exprs.length).toBeGreaterThan(20_000);
    expect(skipped).toBeLessThan(exprs.length / 20);
    console.log(`offsetof/sizeof cross-check: ${exprs.length} expressions, ${skipped} structs skipped`);
    const src = [
      '#define BPF_NO_PRESERVE_ACCESS_INDEX',
      '#include "vmlinux.h"',
      'extern int printf(const char *, ...);',
      'static const unsigned long v[] = {',
      ...exprs.map((e) => `\t${e},`),
      '};',
      'int main(void) { for (unsigned long i = 0; i < sizeof(v) / sizeof(v[0]); i++) printf("%lu\\n", v[i]); return 0; }',
    ].join('\n');
    writeFileSync(join(dir, 'offsets.c'), src);
    execFileSync('clang', ['-w', '-O0', '-o', join(dir, 'offsets'), join(dir, 'offsets.c')], { cwd: dir });
    const fromC = execFileSync(join(dir, 'offsets'), { encoding: 'utf8', maxBuffer: 1 << 28 }).trim().split('\n').map(Number);
    expect(fromC.length).toBe(ours.length);
    const diffs = ours.flatMap((v, i) => (v === fromC[i] ? [] : [`${exprs[i]}: ours ${v}, C ${fromC[i]}`]));
    expect(diffs.slice(0, 10)).toEqual([]);
  });

  it('finds the struct sock fields the tracer reads, through anonymous unions', () => {
    const dport = btf.memberOffset('sock', ['__sk_common', 'skc_dport']);
    const common = btf.memberOffset('sock', ['__sk_common']);
    expect(common.offset).toBe(0);
    expect(dport.size).toBe(2);
    expect(btf.typeName(dport.type)).toBe('__be16');
    // skc_dport lives in an anonymous union inside an anonymous struct of sock_common.
    const sc = btf.struct('sock_common');
    expect(sc.members.some((m) => m.name === 'skc_dport')).toBe(false);
    expect(btf.memberOffset('sock_common', ['skc_dport']).offset).toBe(dport.offset);
    // skc_portpair (u32) overlays dport (low half) and num (high half).
    const pair = btf.memberOffset('sock_common', ['skc_portpair']);
    expect(pair.offset).toBe(dport.offset);
    expect(btf.memberOffset('sock_common', ['skc_num']).offset).toBe(pair.offset + 2);
    // A path through a named nested struct.
    const inum = btf.memberOffset('net', ['ns', 'inum']);
    expect(inum.size).toBe(4);
    expect(inum.offset).toBe(btf.memberOffset('net', ['ns']).offset + btf.memberOffset('ns_common', ['inum']).offset);
  });

  it('reports bitfields with their bit offset and width (kind_flag encoding)', () => {
    const reuse = btf.memberOffset('sock_common', ['skc_reuse']);
    expect(reuse.bitSize).toBe(4);
    expect(reuse.offset).toBe(Math.floor(reuse.bitOffset / 8));
    const raw = btf.struct('sock_common').members.find((m) => m.name === 'skc_reuse');
    expect(raw?.bitSize).toBe(4);
    expect(() => btf.memberOffset('sock_common', ['skc_reuse', 'x'])).toThrow(/bitfield/);
  });

  it('reads enum64 values exactly', () => {
    const e64 = [...btf.types()].filter((t) => t.kind === 'enum64');
    if (e64.length === 0) return; // kernels built before pahole 1.24 have none
    const big = e64.flatMap((t) => (t.kind === 'enum64' ? t.values : [])).find((v) => v.value > BigInt(Number.MAX_SAFE_INTEGER));
    expect(typeof big?.value).toBe('bigint');
  });
});
