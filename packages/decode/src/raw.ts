// Decoding any ABI struct straight from the layout table, into a plain
// object with the C field names (u64/s64 as bigint, other integers as
// number, nested structs as objects, arrays as arrays). Two engines over the
// same table: an interpreter (decodeStruct) and a compiler (compileStruct)
// that turns one struct's layout into a specialized function.
import type { ArrayField, FieldLayout, ScalarType, StructLayout } from './layout-types.js';
import { structs } from './layout.gen.js';
import { need, view } from './view.js';

type Structs = typeof structs;
/** The name of an ABI struct ('conn_tuple', 'conn', 'batch', ...). */
export type StructName = keyof Structs;

type ScalarValue<T> = T extends 'u64' | 's64' ? bigint : number;
type FieldValue<F> = F extends { readonly type: 'struct'; readonly struct: infer S extends StructName }
  ? RawStruct<S>
  : F extends { readonly type: 'array'; readonly elem: 'struct'; readonly struct: infer S extends StructName }
    ? RawStruct<S>[]
    : F extends { readonly type: 'array'; readonly elem: infer E }
      ? ScalarValue<E>[]
      : F extends { readonly type: infer T }
        ? ScalarValue<T>
        : never;

/** A struct as decodeStruct/compileStruct return it: C field names, exact values. */
export type RawStruct<N extends StructName> = { -readonly [K in keyof Structs[N]['fields']]: FieldValue<Structs[N]['fields'][K]> };

/** The decoder compileStruct returns. */
export type RawDecoder<N extends StructName> = (buf: Uint8Array, offset?: number) => RawStruct<N>;

function layoutOf(name: string): StructLayout {
  const l = (structs as Record<string, StructLayout | undefined>)[name];
  if (!l) throw new Error(`@tracer-bpf/decode: no ABI struct named '${name}'`);
  return l;
}

// ---------------------------------------------------------------- interpreter

function readScalar(type: ScalarType, dv: DataView, o: number): number | bigint {
  switch (type) {
    case 'u8': return dv.getUint8(o);
    case 's8': return dv.getInt8(o);
    case 'u16': return dv.getUint16(o, true);
    case 's16': return dv.getInt16(o, true);
    case 'u32': return dv.getUint32(o, true);
    case 's32': return dv.getInt32(o, true);
    case 'u64': return dv.getBigUint64(o, true);
    case 's64': return dv.getBigInt64(o, true);
  }
}

const scalarSize: Record<ScalarType, number> = { u8: 1, s8: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 8, s64: 8 };

function readArray(f: ArrayField, dv: DataView, o: number): unknown[] {
  const out: unknown[] = new Array(f.count);
  if (f.elem === 'struct') {
    const inner = layoutOf(f.struct as string);
    for (let i = 0; i < f.count; i++) out[i] = readStruct(inner, dv, o + i * inner.size);
  } else {
    const step = scalarSize[f.elem];
    for (let i = 0; i < f.count; i++) out[i] = readScalar(f.elem, dv, o + i * step);
  }
  return out;
}

function readField(f: FieldLayout, dv: DataView, o: number): unknown {
  if (f.type === 'struct') return readStruct(layoutOf(f.struct), dv, o);
  if (f.type === 'array') return readArray(f, dv, o);
  return readScalar(f.type, dv, o);
}

function readStruct(l: StructLayout, dv: DataView, base: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name in l.fields) {
    const f = l.fields[name] as FieldLayout;
    out[name] = readField(f, dv, base + f.offset);
  }
  return out;
}

/** Decode struct `name` at `offset` of `buf` by walking its layout table (the generic, slower path). */
export function decodeStruct<N extends StructName>(name: N, buf: Uint8Array, offset = 0): RawStruct<N> {
  const l = layoutOf(name);
  need(name, buf, offset, l.size);
  return readStruct(l, view(), offset) as RawStruct<N>;
}

// ---------------------------------------------------------------- compiler

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const getter: Record<ScalarType, string> = {
  u8: 'getUint8(%)',
  s8: 'getInt8(%)',
  u16: 'getUint16(%, true)',
  s16: 'getInt16(%, true)',
  u32: 'getUint32(%, true)',
  s32: 'getInt32(%, true)',
  u64: 'getBigUint64(%, true)',
  s64: 'getBigInt64(%, true)',
};

function scalarExpr(type: ScalarType, off: number): string {
  return `dv.${getter[type].replace('%', `o + ${off}`)}`;
}

function structExpr(l: StructLayout, base: number): string {
  const parts: string[] = [];
  for (const name in l.fields) {
    if (!IDENT.test(name)) throw new Error(`@tracer-bpf/decode: field name '${name}' is not an identifier`);
    const f = l.fields[name] as FieldLayout;
    const off = base + f.offset;
    let expr: string;
    if (f.type === 'struct') expr = structExpr(layoutOf(f.struct), off);
    else if (f.type === 'array') {
      const items: string[] = [];
      if (f.elem === 'struct') {
        const inner = layoutOf(f.struct as string);
        for (let i = 0; i < f.count; i++) items.push(structExpr(inner, off + i * inner.size));
      } else {
        for (let i = 0; i < f.count; i++) items.push(scalarExpr(f.elem, off + i * scalarSize[f.elem]));
      }
      expr = `[${items.join(', ')}]`;
    } else expr = scalarExpr(f.type, off);
    parts.push(`${name}: ${expr}`);
  }
  return `{ ${parts.join(', ')} }`;
}

const compiled = new Map<string, RawDecoder<StructName>>();

/**
 * A decoder specialized for struct `name`: the layout table turned into one
 * function with constant offsets and a fixed object shape (the fast path for
 * raw records). Compiled once per struct and cached.
 */
export function compileStruct<N extends StructName>(name: N): RawDecoder<N> {
  const hit = compiled.get(name);
  if (hit) return hit as unknown as RawDecoder<N>;
  const l = layoutOf(name);
  // Offsets and names come from the generated table (identifiers checked above), never from input.
  const body = new Function('dv', 'o', `return ${structExpr(l, 0)};`) as (dv: DataView, o: number) => RawStruct<N>;
  const size = l.size;
  const decode: RawDecoder<N> = (buf, offset = 0) => {
    need(name, buf, offset, size);
    return body(view(), offset);
  };
  compiled.set(name, decode as unknown as RawDecoder<StructName>);
  return decode;
}
