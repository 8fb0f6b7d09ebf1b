import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Btf, BtfStruct, BtfType } from '../src/index.js';

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

/** A named member of a struct, reached through anonymous members (and, with `nested`, through named struct members), with its bitfield flag. */
export interface NamedMember {
  readonly path: readonly string[];
  readonly bitfield: boolean;
}

export function namedMembers(b: Btf, s: BtfStruct, nested = false, depth = 0): NamedMember[] {
  const out: NamedMember[] = [];
  if (depth > 8) return out;
  for (const m of s.members) {
    const inner = b.type(b.resolve(m.type));
    const compound = inner.kind === 'struct' || inner.kind === 'union';
    if (!m.name) {
      if (compound) out.push(...namedMembers(b, inner, nested, depth + 1));
      continue;
    }
    out.push({ path: [m.name], bitfield: m.bitSize !== 0 });
    if (nested && compound) out.push(...namedMembers(b, inner, nested, depth + 1).map((n) => ({ ...n, path: [m.name, ...n.path] })));
  }
  return out;
}

/** One fact about a type: what our reader says and what the C compiler says. */
export interface Fact {
  readonly what: string;
  readonly ours: string;
  readonly c: string;
}

export interface CompilerProbe {
  /** Where probe.c and its binary go (and vmlinux.h, for the caller). */
  readonly dir: string;
  /** C lines that declare the types (includes). */
  readonly prelude: readonly string[];
  readonly cflags?: readonly string[];
  /** Also members of named struct members (struct batch: c2.conn_stats.timestamp). */
  readonly nested?: boolean;
  /** Also every value of every uniquely named enum. */
  readonly enumValues?: boolean;
}

/**
 * Compile one C program over the types' own declarations that prints, for
 * every uniquely named struct: its sizeof; for each named member that is not a
 * bitfield, 8 * offsetof and sizeof; for each bitfield, the first bit and the
 * number of bits set by storing -1 into it in a zeroed struct (C has no
 * offsetof for bitfields, so the compiler places it and we read the bits back;
 * little-endian, so bit i is bit i % 8 of byte i / 8). Plus sizeof (and, with
 * enumValues, the values) of every uniquely named enum. Each fact carries
 * memberOffset()'s / sizeOf()'s answer beside the compiler's.
 */
export function compilerFacts(btf: Btf, probe: CompilerProbe): Fact[] {
  const unique = (name: string, id: number): boolean =>
    !btf.findIds(name).some((o) => o !== id && ['struct', 'union', 'fwd', 'enum', 'enum64'].includes(btf.kind(o)));
  // Plain values: [what, ours, C initializer of two unsigned longs].
  const plain: [string, string, string][] = [];
  const values: [string, string, string][] = [];
  // Bitfields, one block per struct: [what, ours], and the C statements.
  const bitfields: [string, string][] = [];
  const blocks: string[] = [];
  for (const t of btf.types()) {
    if ((t.kind === 'enum' || t.kind === 'enum64') && t.name && unique(t.name, t.id)) {
      plain.push([`sizeof(enum ${t.name})`, `${t.size} 0`, `sizeof(enum ${t.name}), 0`]);
      if (probe.enumValues) for (const v of t.values) values.push([`enum ${t.name}.${v.name}`, String(v.value), `(long long)${v.name}`]);
    }
    if (t.kind !== 'struct' || !t.name || !unique(t.name, t.id)) continue;
    const s = `struct ${t.name}`;
    plain.push([`sizeof(${s})`, `${btf.sizeOf(t.id)} 0`, `sizeof(${s}), 0`]);
    const stmts: string[] = [];
    for (const m of namedMembers(btf, t, probe.nested)) {
      const loc = btf.memberOffset(t.id, m.path);
      const name = m.path.join('.');
      if (m.bitfield) {
        bitfields.push([`${s}.${name}`, `bit ${loc.bitOffset} width ${loc.bitSize}`]);
        stmts.push(`memset(&u, 0, sizeof u); u.s.${name} = -1; bits(u.b, sizeof u);`);
      } else {
        plain.push([`${s}.${name}`, `${loc.bitOffset} ${loc.size}`, `8 * __builtin_offsetof(${s}, ${name}), sizeof(((${s} *)0)->${name})`]);
        if (loc.bitSize !== 0) throw new Error(`${s}.${name}: not a bitfield in its struct, bitSize ${loc.bitSize}`);
      }
    }
    if (stmts.length) blocks.push(`\t{ static union { ${s} s; unsigned char b[sizeof(${s})]; } u;\n\t\t${stmts.join('\n\t\t')}\n\t}`);
  }
  const src = [
    ...probe.prelude,
    'extern int printf(const char *, ...);',
    'extern void *memset(void *, int, unsigned long);',
    'static const unsigned long v[][2] = {',
    ...plain.map(([, , e]) => `\t{ ${e} },`),
    '};',
    'static const long long e[] = {',
    ...values.map(([, , e]) => `\t${e},`),
    '\t0 };',
    'static void bits(const unsigned char *b, unsigned long n) {',
    '\tlong first = -1, count = 0;',
    '\tfor (unsigned long i = 0; i < n * 8; i++) if ((b[i / 8] >> (i % 8)) & 1) { if (first < 0) first = (long)i; count++; }',
    '\tprintf("bit %ld width %ld\\n", first, count);',
    '}',
    'int main(void) {',
    '\tfor (unsigned long i = 0; i < sizeof(v) / sizeof(v[0]); i++) printf("%lu %lu\\n", v[i][0], v[i][1]);',
    `\tfor (unsigned long i = 0; i < ${values.length}; i++) printf("%lld\\n", e[i]);`,
    ...blocks,
    '\treturn 0;',
    '}',
  ].join('\n');
  const c = join(probe.dir, 'probe.c');
  const bin = join(probe.dir, 'probe');
  writeFileSync(c, src);
  execFileSync('clang', ['-w', '-O0', ...(probe.cflags ?? []), '-o', bin, c], { cwd: probe.dir, maxBuffer: 1 << 26 });
  const out = execFileSync(bin, { encoding: 'utf8', maxBuffer: 1 << 28 }).trimEnd().split('\n');
  const ours = [...plain, ...values, ...bitfields].map(([w, o]) => [w, o] as const);
  if (out.length !== ours.length) throw new Error(`the probe printed ${out.length} lines for ${ours.length} facts`);
  return ours.map(([what, o], i) => ({ what, ours: o, c: out[i] as string }));
}

/** The facts where our reader and the compiler differ, one line each. */
export const disagreements = (fs: readonly Fact[]): string[] => fs.filter((f) => f.ours !== f.c).map((f) => `${f.what}: ours ${f.ours}, C ${f.c}`);
