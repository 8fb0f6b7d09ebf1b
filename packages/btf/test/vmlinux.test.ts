// The running kernel's BTF against two readers that share no code with ours:
// bpftool (every type, whole: names, kinds, sizes, members with their bit
// offsets and bitfield sizes) and the C compiler (clang over bpftool's
// vmlinux.h: sizeof every uniquely named struct and enum, and where every
// member of those structs lives, bitfields included, compared with
// memberOffset()).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKernelBtf, type Btf } from '../src/index.js';
import { asBpftool, bpftoolJson, compilerFacts, diffAgainstBpftool, disagreements, VMLINUX, type BpftoolType, type Fact } from './helpers.js';

let btf: Btf;
let dir: string;
let bpftool: BpftoolType[];

beforeAll(() => {
  if (!existsSync(VMLINUX)) return;
  btf = loadKernelBtf();
  bpftool = bpftoolJson(VMLINUX);
  dir = mkdtempSync(join(tmpdir(), 'btf-test-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * bpftool 7.1's `format c` prints the kernel's `enum ... __packed` (BTF size
 * 1 or 2) without the attribute, so the compiler would make them 4 bytes and
 * lay out every struct holding one differently from the kernel: put the
 * attribute back (sizeof of every enum is then checked too).
 */
function packEnums(header: string, b: Btf): string {
  let out = header;
  for (const t of b.types()) {
    if (t.kind !== 'enum' || t.size === 4) continue;
    if (!t.name) throw new Error(`anonymous enum ${t.id} of ${t.size} bytes: vmlinux.h cannot be fixed by name`);
    const re = new RegExp(`^(enum ${t.name} \\{\\n(?:\\t.*\\n)*?)\\};$`, 'm');
    if (!re.test(out)) throw new Error(`enum ${t.name} not found in vmlinux.h`);
    out = out.replace(re, '$1} __attribute__((packed));');
  }
  return out;
}

let facts: Fact[] | undefined;

/** Every uniquely named struct and enum of vmlinux.h (bpftool's C) through the compiler, once. */
function kernelFacts(): Fact[] {
  if (facts) return facts;
  const raw = execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  writeFileSync(join(dir, 'vmlinux.h'), packEnums(raw, btf));
  const prelude = [
    '#define BPF_NO_PRESERVE_ACCESS_INDEX',
    '// const bitfields take the -1 too (a qualifier changes no layout).',
    '#define const',
    '#include "vmlinux.h"',
    '#undef const',
  ];
  facts = compilerFacts(btf, { dir, prelude });
  return facts;
}

/** Named members of a struct by bpftool's JSON (through anonymous struct/union members), with their bitfield flag. */
function bpftoolMembers(byId: Map<number, BpftoolType>, id: number, depth = 0): { name: string; bitfield: boolean }[] {
  let t = byId.get(id);
  while (t && ['TYPEDEF', 'CONST', 'VOLATILE'].includes(t.kind)) t = byId.get(t.type_id as number);
  if (!t || (t.kind !== 'STRUCT' && t.kind !== 'UNION')) return [];
  const members = t.members as { name: string; type_id: number; bitfield_size?: number }[];
  return members.flatMap((m) =>
    m.name !== '(anon)' ? [{ name: m.name, bitfield: (m.bitfield_size ?? 0) !== 0 }] : depth < 8 ? bpftoolMembers(byId, m.type_id, depth + 1) : [],
  );
}


// Kernels built without CONFIG_DEBUG_INFO_BTF have no /sys/kernel/btf/vmlinux.
describe.skipIf(!existsSync(VMLINUX))('kernel BTF (/sys/kernel/btf/vmlinux)', () => {
  it('reads every type exactly as bpftool does', () => {
    expect(btf.typeCount).toBe(bpftool.length);
    expect(diffAgainstBpftool(btf, bpftool)).toEqual([]);
    // This kernel uses every kind there is (all 19 but void), so a silent skip would show.
    const kinds = [...new Set(bpftool.map((t) => t.kind))].sort();
    expect(kinds).toEqual([
      'ARRAY', 'CONST', 'DATASEC', 'DECL_TAG', 'ENUM', 'ENUM64', 'FLOAT', 'FUNC', 'FUNC_PROTO', 'FWD',
      'INT', 'PTR', 'RESTRICT', 'STRUCT', 'TYPEDEF', 'TYPE_TAG', 'UNION', 'VAR', 'VOLATILE',
    ]);
  });

  it('agrees with the C compiler on sizeof, and on where every member lives (bitfields included) in every uniquely named struct', () => {
    const fs = kernelFacts();
    const bitfields = fs.filter((f) => f.ours.startsWith('bit '));
    console.log(`compiler cross-check: ${fs.length} facts, ${bitfields.length} of them bitfields`);
    expect(disagreements(fs).slice(0, 20)).toEqual([]);
    // The members probed are every named member of those structs by bpftool's reading, bitfields among them.
    const byId = new Map(bpftool.map((t) => [t.id, t]));
    const probed = new Set(fs.filter((f) => f.what.startsWith('sizeof(struct ')).map((f) => f.what.slice('sizeof('.length, -1)));
    const want = bpftool
      .filter((t) => t.kind === 'STRUCT' && probed.has(`struct ${t.name}`))
      .flatMap((t) => bpftoolMembers(byId, t.id).map((m) => `${m.bitfield ? 'bitfield' : 'member'} struct ${t.name}.${m.name}`));
    const got = fs.filter((f) => !f.what.startsWith('sizeof(')).map((f) => `${f.ours.startsWith('bit ') ? 'bitfield' : 'member'} ${f.what}`);
    expect(got.sort()).toEqual(want.sort());
    expect(bitfields.length).toBe(want.filter((w) => w.startsWith('bitfield ')).length);
  });

  it.each(['sock', 'sock_common', 'sk_buff', 'tcp_sock', 'inet_connection_sock'])(
    'struct %s: kind_flag bitfields and every member where the compiler puts them',
    (name) => {
      const s = btf.struct(name);
      expect(s.kindFlag).toBe(true);
      // The struct as bpftool reads it, whole.
      const want = bpftool.find((t) => t.id === s.id);
      expect(asBpftool(btf, s)).toEqual(want);
      const mine = kernelFacts().filter((f) => f.what.startsWith(`struct ${name}.`) || f.what === `sizeof(struct ${name})`);
      // Every named member by bpftool's reading (through anonymous members) was probed; bitfields as bitfields.
      const byId = new Map(bpftool.map((t) => [t.id, t]));
      const members = bpftoolMembers(byId, s.id);
      expect(mine.length).toBe(members.length + 1);
      const bf = mine.filter((f) => f.ours.startsWith('bit ')).map((f) => f.what.slice(`struct ${name}.`.length));
      expect(bf.sort()).toEqual(members.filter((m) => m.bitfield).map((m) => m.name).sort());
      expect(bf.length).toBeGreaterThan(0);
      expect(disagreements(mine)).toEqual([]);
    },
  );

  it('structs() finds in one pass, without the name index, what struct() finds; a missing one is an error', () => {
    const fresh = loadKernelBtf();
    const names = ['sock', 'tcp_sock', 'sk_buff', 'net', 'socket', 'msghdr'];
    const got = fresh.structs(names);
    for (const n of names) expect(got.get(n)!.id, n).toBe(fresh.struct(n).id);
    expect(() => loadKernelBtf().structs(['sock', 'no_such_struct_here'])).toThrow(/no struct or union named 'no_such_struct_here'/);
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
    const byC = (what: string): string | undefined => kernelFacts().find((f) => f.what === what)?.c;
    expect(`${dport.bitOffset} ${dport.size}`).toBe(byC('struct sock_common.skc_dport'));
    // skc_portpair (u32) overlays dport (low half) and num (high half).
    const pair = btf.memberOffset('sock_common', ['skc_portpair']);
    expect(pair.offset).toBe(dport.offset);
    expect(btf.memberOffset('sock_common', ['skc_num']).offset).toBe(pair.offset + 2);
    // A path through a named nested struct.
    const inum = btf.memberOffset('net', ['ns', 'inum']);
    expect(inum.size).toBe(4);
    expect(inum.offset).toBe(btf.memberOffset('net', ['ns']).offset + btf.memberOffset('ns_common', ['inum']).offset);
  });

  it('reports bitfields with their bit offset and width (kind_flag encoding), as the compiler lays them out', () => {
    const reuse = btf.memberOffset('sock_common', ['skc_reuse']);
    const fromC = kernelFacts().find((f) => f.what === 'struct sock_common.skc_reuse')?.c;
    expect(`bit ${reuse.bitOffset} width ${reuse.bitSize}`).toBe(fromC);
    expect(reuse.bitSize).toBe(4);
    expect(reuse.offset).toBe(Math.floor(reuse.bitOffset / 8));
    const raw = btf.struct('sock_common').members.find((m) => m.name === 'skc_reuse');
    expect(raw?.bitSize).toBe(4);
    expect(() => btf.memberOffset('sock_common', ['skc_reuse', 'x'])).toThrow(/bitfield/);
  });

  it('reads enum64 values exactly as bpftool does', () => {
    const want = bpftool.filter((t) => t.kind === 'ENUM64') as (BpftoolType & { values: { name: string; val: string }[] })[];
    const ours = [...btf.types()].filter((t) => t.kind === 'enum64');
    expect(ours.map((t) => t.id)).toEqual(want.map((t) => t.id));
    // This kernel has enum64 (pahole 1.24+), some of them with values past 2^53.
    expect(want.length).toBeGreaterThan(0);
    const values = ours.flatMap((t) => (t.kind === 'enum64' ? t.values.map((v) => `${t.id} ${v.name} ${v.value}`) : []));
    expect(values).toEqual(want.flatMap((t) => t.values.map((v) => `${t.id} ${v.name} ${v.val}`)));
    expect(values.some((v) => BigInt(v.split(' ')[2] as string) > BigInt(Number.MAX_SAFE_INTEGER))).toBe(true);
  });
});
