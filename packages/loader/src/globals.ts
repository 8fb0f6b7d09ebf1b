// Encodes a JS value for a BPF global variable (a `const volatile` in
// .rodata, or a .data/.bss variable) after checking it against the
// variable's BTF type and size.
import { BpfArgumentError } from './errors.js';

export type GlobalValue = number | bigint | boolean | string | Uint8Array | Array<number | bigint>;

/** A global variable of the object, as its BTF describes it (the addon reports exactly this). */
export interface GlobalSpec {
  name: string;
  /** The data section's map (`<obj>.rodata`, `.data`, `.bss`). */
  section: string;
  offset: number;
  size: number;
  /** A `const volatile` (in .rodata). */
  readonly: boolean;
  kind: 'int' | 'bool' | 'char' | 'array' | 'pointer' | 'struct' | 'other';
  signed?: boolean;
  typeName?: string;
  length?: number;
  elemKind?: 'int' | 'char' | 'other';
  elemSize?: number;
  elemTypeName?: string;
}

function fail(g: GlobalSpec, object: string, problem: string): never {
  throw new BpfArgumentError({
    code: 'ERR_BPF_ARG',
    op: 'set global',
    target: g.name,
    object,
    message: problem,
  });
}

function typeLabel(g: GlobalSpec): string {
  if (g.kind === 'int') return `${g.signed ? 's' : 'u'}${g.size * 8}`;
  if (g.kind === 'array') return `${g.elemTypeName ?? g.elemKind}[${g.length}]`;
  return g.typeName ? `${g.kind} ${g.typeName}` : g.kind;
}

function writeInt(out: DataView, off: number, size: number, signed: boolean, v: bigint): void {
  if (size === 1) signed ? out.setInt8(off, Number(v)) : out.setUint8(off, Number(v));
  else if (size === 2) signed ? out.setInt16(off, Number(v), true) : out.setUint16(off, Number(v), true);
  else if (size === 4) signed ? out.setInt32(off, Number(v), true) : out.setUint32(off, Number(v), true);
  else signed ? out.setBigInt64(off, v, true) : out.setBigUint64(off, v, true);
}

function toInt(g: GlobalSpec, object: string, v: unknown, size: number, signed: boolean): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
  else fail(g, object, `${g.name} is ${typeLabel(g)}: expected an integer, got ${typeof v} ${String(v)}`);
  const bits = BigInt(size * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (b < min || b > max) fail(g, object, `${String(v)} is out of range for ${typeLabel(g)} (${min}..${max})`);
  return b;
}

export function encodeGlobal(g: GlobalSpec, object: string, value: GlobalValue): Uint8Array {
  const out = new Uint8Array(g.size);
  const view = new DataView(out.buffer);
  if (value instanceof Uint8Array && g.kind !== 'bool') {
    if (value.length !== g.size) fail(g, object, `${g.name} is ${g.size} bytes (${typeLabel(g)}), got ${value.length}`);
    out.set(value);
    return out;
  }
  switch (g.kind) {
    case 'bool':
      if (typeof value !== 'boolean') fail(g, object, `${g.name} is a bool: expected true or false, got ${typeof value}`);
      out[0] = value ? 1 : 0;
      return out;
    case 'int':
    case 'char':
      if (![1, 2, 4, 8].includes(g.size)) fail(g, object, `${g.name} has an unsupported integer size ${g.size}`);
      writeInt(view, 0, g.size, g.signed ?? false, toInt(g, object, value, g.size, g.signed ?? false));
      return out;
    case 'array': {
      const len = g.length ?? 0;
      const esize = g.elemSize ?? 0;
      const isChar = g.elemKind === 'char' || (esize === 1 && /char/.test(g.elemTypeName ?? ''));
      if (typeof value === 'string') {
        if (!isChar) fail(g, object, `${g.name} is ${typeLabel(g)}, not a string`);
        const bytes = Buffer.from(value, 'utf8');
        if (bytes.length >= g.size) {
          fail(g, object, `"${value}" is ${bytes.length} bytes: ${g.name} holds at most ${g.size - 1} plus the NUL`);
        }
        out.set(bytes);
        return out;
      }
      if (Array.isArray(value) && g.elemKind !== 'other' && esize > 0) {
        if (value.length !== len) fail(g, object, `${g.name} has ${len} elements, got ${value.length}`);
        value.forEach((v, i) => writeInt(view, i * esize, esize, g.signed ?? false, toInt(g, object, v, esize, g.signed ?? false)));
        return out;
      }
      return fail(g, object, `${g.name} is ${typeLabel(g)}: pass ${isChar ? 'a string or ' : 'an array or '}a Uint8Array of ${g.size} bytes`);
    }
    default:
      return fail(g, object, `${g.name} is ${typeLabel(g)}: pass a Uint8Array of ${g.size} bytes`);
  }
}
