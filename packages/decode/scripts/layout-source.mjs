// @ts-check
// Builds the decoder's layout table from the BTF of tracer_abi.bpf.o and
// renders it as src/layout.gen.ts. Every named struct and enum in that BTF is
// ABI (the object holds nothing else). The header's rules are enforced here
// again: a struct that breaks one is refused with the list of problems.

/** @typedef {import('@tracer-bpf/btf').Btf} Btf */
/** @typedef {import('@tracer-bpf/btf').BtfStruct} BtfStruct */
/** @typedef {{ offset: number, size: number, type: string, struct?: string, elem?: string, count?: number }} Field */
/** @typedef {{ name: string, size: number, fields: [string, Field][] }} Struct */
/** @typedef {{ name: string, values: [string, number | bigint][] }} Enum */
/** @typedef {{ structs: Struct[], enums: Enum[] }} Layout */

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

const FIXED = /^__[us](8|16|32|64)$/;

/**
 * Whether a type is spelled with a fixed-width typedef (__u8 ... __s64), through const/volatile.
 * @param {Btf} btf @param {number} id
 */
function fixedWidth(btf, id) {
  let cur = id;
  for (let i = 0; i < 16; i++) {
    const t = btf.type(cur);
    if (t.kind === 'typedef' && FIXED.test(t.name)) return true;
    if (t.kind !== 'typedef' && t.kind !== 'const' && t.kind !== 'volatile') return false;
    cur = t.type;
  }
  return false;
}

/**
 * The scalar name of an int type ('u8' ... 's64'), or an error string.
 * @param {Btf} btf @param {number} id
 */
function scalar(btf, id) {
  const t = btf.type(btf.resolve(id));
  if (t.kind !== 'int') return { error: `${btf.typeName(id)} is a ${t.kind}` };
  if (t.bool) return { error: `${btf.typeName(id)} is a bool` };
  if (!fixedWidth(btf, id)) return { error: `${btf.typeName(id)} is not a fixed-width type (use __u8 ... __s64)` };
  if (t.bitOffset !== 0 || t.bits !== t.size * 8 || ![1, 2, 4, 8].includes(t.size)) {
    return { error: `${btf.typeName(id)} is not a whole 8/16/32/64-bit integer` };
  }
  return { name: `${t.signed ? 's' : 'u'}${t.size * 8}`, size: t.size };
}

/**
 * One member as a table field, or the reasons it breaks the ABI rules.
 * @param {Btf} btf @param {import('@tracer-bpf/btf').BtfMember} m
 * @returns {{ field?: Field, errors: string[] }}
 */
function field(btf, m) {
  /** @type {string[]} */
  const errors = [];
  const offset = m.bitOffset / 8;
  const t = btf.type(btf.resolve(m.type));
  if (t.kind === 'int') {
    const s = scalar(btf, m.type);
    if (s.error || !s.name) return { errors: [...errors, s.error ?? 'bad int'] };
    if (offset % s.size !== 0) errors.push(`a ${s.name} at offset ${offset}, not ${s.size}-aligned`);
    return { field: { offset, size: s.size, type: s.name }, errors };
  }
  if (t.kind === 'struct') {
    if (!t.name) return { errors: [...errors, 'an anonymous struct'] };
    if (offset % 8 !== 0) errors.push(`a struct at offset ${offset}, not 8-aligned`);
    return { field: { offset, size: t.size, type: 'struct', struct: t.name }, errors };
  }
  if (t.kind === 'array') {
    const e = btf.type(btf.resolve(t.type));
    if (e.kind === 'struct' && e.name) {
      return { field: { offset, size: btf.sizeOf(m.type), type: 'array', elem: 'struct', struct: e.name, count: t.nelems }, errors };
    }
    const s = scalar(btf, t.type);
    if (s.error || !s.name) return { errors: [...errors, `an array of ${s.error ?? 'bad ints'}`] };
    if (offset % s.size !== 0) errors.push(`a ${s.name} array at offset ${offset}, not ${s.size}-aligned`);
    return { field: { offset, size: s.size * t.nelems, type: 'array', elem: s.name, count: t.nelems }, errors };
  }
  return { errors: [...errors, `${btf.typeName(m.type)} is a ${t.kind}: only fixed-width integers, ABI structs and fixed arrays of them`] };
}

/** Whether a member's int type encodes an old-style bitfield. @param {Btf} btf @param {number} id */
function intBitfield(btf, id) {
  const t = btf.type(btf.resolve(id));
  return t.kind === 'int' && (t.bitOffset !== 0 || t.bits !== t.size * 8);
}

/** sizeof the type, or 0 when it has none. @param {Btf} btf @param {number} id */
function sizeOr0(btf, id) {
  try {
    return btf.sizeOf(id);
  } catch {
    return 0;
  }
}

/**
 * The layout table of every named struct and enum in `btf`, in type id order.
 * Throws an Error listing every ABI rule a struct breaks.
 * @param {Btf} btf
 * @returns {Layout}
 */
export function buildLayout(btf) {
  /** @type {Struct[]} */
  const structs = [];
  /** @type {Enum[]} */
  const enums = [];
  /** @type {string[]} */
  const problems = [];
  for (const t of btf.types()) {
    if (!t.name) continue;
    if (t.kind === 'union') problems.push(`union ${t.name}: unions are not allowed in the ABI`);
    if (t.kind === 'enum' || t.kind === 'enum64') {
      enums.push({ name: t.name, values: t.values.map((v) => [v.name, v.value]) });
      continue;
    }
    if (t.kind !== 'struct') continue;
    const where = `struct ${t.name}`;
    if (!IDENT.test(t.name)) problems.push(`${where}: not a plain identifier`);
    if (t.size % 8 !== 0) problems.push(`${where}: size ${t.size} is not a multiple of 8`);
    /** @type {[string, Field][]} */
    const fields = [];
    let end = 0;
    for (const m of t.members) {
      const at = `${where}.${m.name || '(anonymous)'}`;
      if (!m.name) {
        problems.push(`${at}: anonymous members are not allowed`);
        continue;
      }
      const bitfield = m.bitSize !== 0 || m.bitOffset % 8 !== 0 || intBitfield(btf, m.type);
      if (bitfield) {
        problems.push(`${at}: a bitfield`);
        end = Math.max(end, Math.ceil((m.bitOffset + (m.bitSize || 1)) / 8));
        continue;
      }
      const offset = m.bitOffset / 8;
      if (offset > end) problems.push(`${at}: ${offset - end} bytes of implicit padding before it (add an explicit _pad field)`);
      end = Math.max(end, offset + sizeOr0(btf, m.type));
      const { field: f, errors } = field(btf, m);
      problems.push(...errors.map((e) => `${at}: ${e}`));
      if (f) fields.push([m.name, f]);
    }
    if (end < t.size) problems.push(`${where}: ${t.size - end} bytes of implicit padding at the end (add an explicit _pad field)`);
    structs.push({ name: t.name, size: t.size, fields });
  }
  const known = new Set(structs.map((s) => s.name));
  for (const s of structs) {
    for (const [name, f] of s.fields) {
      if (f.struct && !known.has(f.struct)) problems.push(`struct ${s.name}.${name}: struct ${f.struct} is not in the table`);
    }
  }
  if (problems.length) throw new Error(`ABI rules broken:\n  ${problems.join('\n  ')}`);
  return { structs, enums };
}

/** @param {number | bigint} v */
const literal = (v) => (typeof v === 'bigint' ? `${v}n` : String(v));

/** @param {Field} f */
function renderField(f) {
  const parts = [`offset: ${f.offset}`, `size: ${f.size}`, `type: '${f.type}'`];
  if (f.elem) parts.push(`elem: '${f.elem}'`);
  if (f.struct) parts.push(`struct: '${f.struct}'`);
  if (f.count !== undefined) parts.push(`count: ${f.count}`);
  return `{ ${parts.join(', ')} }`;
}

/**
 * src/layout.gen.ts for a layout table.
 * @param {Layout} layout
 * @param {{ object: string, header: string }} source  paths shown in the banner (repository-relative)
 */
export function renderLayout(layout, source) {
  const out = [
    '// DO NOT EDIT. Generated by `pnpm --filter @tracer-bpf/decode codegen` (scripts/codegen.mjs)',
    `// from the BTF of ${source.object}, built from ${source.header}.`,
    '// Checked by test/layout-drift.test.ts (regenerating changes nothing) and',
    '// test/layout-c.test.ts (every offset and size equals gcc\'s offsetof/sizeof).',
    "import type { EnumTable, StructTable } from './layout-types.js';",
    '',
    '/** Every ABI struct: size, and per field its byte offset, size and type. */',
    'export const structs = {',
  ];
  for (const s of layout.structs) {
    out.push(`  ${s.name}: {`, `    size: ${s.size},`, '    fields: {');
    for (const [name, f] of s.fields) out.push(`      ${name}: ${renderField(f)},`);
    out.push('    },', '  },');
  }
  out.push('} as const satisfies StructTable;', '', '/** Every ABI enum (and the constants enum): name to value. */', 'export const enums = {');
  for (const e of layout.enums) {
    out.push(`  ${e.name}: {`);
    for (const [name, v] of e.values) out.push(`    ${name}: ${literal(v)},`);
    out.push('  },');
  }
  out.push('} as const satisfies EnumTable;', '');
  return out.join('\n');
}
