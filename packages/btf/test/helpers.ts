import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Btf, BtfType } from '../src/index.js';

const require = createRequire(import.meta.url);

/** bpf/obj/tracer_abi.bpf.o of the workspace's @tracer-bpf/bpf (built by turbo before the tests). */
export const abiObjectPath = join(dirname(require.resolve('@tracer-bpf/bpf/package.json')), 'obj', 'tracer_abi.bpf.o');

export const VMLINUX = '/sys/kernel/btf/vmlinux';

/** `bpftool btf dump file <path> -j`, with 64-bit enum values kept exact (as strings). */
export function bpftoolJson(path: string): BpftoolType[] {
  const text = execFileSync('bpftool', ['btf', 'dump', 'file', path, '-j'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  return (JSON.parse(text.replace(/"val":(-?\d+)/g, '"val":"$1"')) as { types: BpftoolType[] }).types;
}

export type BpftoolType = Record<string, unknown> & { id: number; kind: string; name: string };

const linkage = (n: number): string => ['static', 'global', 'extern'][n] ?? '(unknown)';
const anon = (s: string): string => s || '(anon)';
const intEncoding = (t: { signed: boolean; char: boolean; bool: boolean }): string =>
  t.signed ? 'SIGNED' : t.char ? 'CHAR' : t.bool ? 'BOOL' : '(none)';

/** Our decoded type in bpftool's JSON shape (bpftool 7.x `btf dump -j`). */
export function asBpftool(btf: Btf, t: BtfType): BpftoolType {
  const base = { id: t.id, kind: t.kind.toUpperCase(), name: anon(t.name) };
  switch (t.kind) {
    case 'void':
      return base;
    case 'int':
      return { ...base, size: t.size, bits_offset: t.bitOffset, nr_bits: t.bits, encoding: intEncoding(t) };
    case 'ptr':
    case 'typedef':
    case 'volatile':
    case 'const':
    case 'restrict':
    case 'type_tag':
      return { ...base, type_id: t.type };
    case 'array':
      return { ...base, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case 'struct':
    case 'union':
      return {
        ...base,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => ({
          name: anon(m.name),
          type_id: m.type,
          bits_offset: m.bitOffset,
          ...(m.bitSize ? { bitfield_size: m.bitSize } : {}),
        })),
      };
    case 'enum':
    case 'enum64':
      return {
        ...base,
        encoding: t.signed ? 'SIGNED' : 'UNSIGNED',
        size: t.size,
        vlen: t.values.length,
        values: t.values.map((v) => ({ name: v.name, val: String(v.value) })),
      };
    case 'fwd':
      return { ...base, fwd_kind: t.union ? 'union' : 'struct' };
    case 'func':
      return { ...base, type_id: t.type, linkage: linkage(t.linkage) };
    case 'func_proto':
      return { ...base, ret_type_id: t.returnType, vlen: t.params.length, params: t.params.map((p) => ({ name: anon(p.name), type_id: p.type })) };
    case 'var':
      return { ...base, type_id: t.type, linkage: linkage(t.linkage) };
    case 'datasec':
      return { ...base, size: t.size, vlen: t.vars.length, vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })) };
    case 'float':
      return { ...base, size: t.size };
    case 'decl_tag':
      return { ...base, type_id: t.type, component_idx: t.componentIdx };
  }
}

/** Every type where our reading differs from bpftool's (at most `limit`, for a readable failure). */
export function diffAgainstBpftool(btf: Btf, expected: BpftoolType[], limit = 10): string[] {
  const out: string[] = [];
  if (btf.typeCount !== expected.length) out.push(`type count: ours ${btf.typeCount}, bpftool ${expected.length}`);
  for (const want of expected) {
    // bpftool 7.1 prints a 32-bit unsigned enum value through a sign-extending cast
    // (0xffffffff as 18446744073709551615); the value in the BTF is the u32.
    if (want.kind === 'ENUM' && want.encoding === 'UNSIGNED') {
      for (const v of want.values as { val: string }[]) v.val = String(BigInt(v.val) & 0xffffffffn);
    }
    const got = JSON.stringify(asBpftool(btf, btf.type(want.id)));
    const exp = JSON.stringify(want);
    if (got !== exp) out.push(`type ${want.id}:\n  ours    ${got.slice(0, 400)}\n  bpftool ${exp.slice(0, 400)}`);
    if (out.length >= limit) break;
  }
  return out;
}
