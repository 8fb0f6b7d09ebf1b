// Argument checks at the API boundary: a wrong type or range is a
// BpfArgumentError naming the operation and the argument, before anything
// reaches the addon or the kernel.
import { BpfArgumentError } from './errors.js';

/** Where a check runs: the operation and what it concerns (for the error). */
export interface ArgContext {
  op: string;
  object?: string;
  program?: string;
  map?: string;
  target?: string;
}

const U32_MAX = 0xffff_ffff;

function describe(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `a ${v.length}-byte ${v.constructor.name}`;
  return typeof v === 'function' ? 'a function' : `a ${typeof v}`;
}

export function argError(ctx: ArgContext, argument: string, message: string): never {
  throw new BpfArgumentError({ code: 'ERR_BPF_ARG', ...ctx, argument, message: `${argument}: ${message}` });
}

/** An integer in [min, max] (default: a u32). */
export function integer(ctx: ArgContext, argument: string, v: unknown, min = 0, max = U32_MAX): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    argError(ctx, argument, `expected an integer in ${min}..${max}, got ${describe(v)}`);
  }
  return v;
}

/** A positive u32 (counts, sizes, max entries). */
export function positive(ctx: ArgContext, argument: string, v: unknown): number {
  return integer(ctx, argument, v, 1);
}

export function boolean(ctx: ArgContext, argument: string, v: unknown): boolean {
  if (typeof v !== 'boolean') argError(ctx, argument, `expected true or false, got ${describe(v)}`);
  return v;
}

/** A string without NUL bytes (what C sees is what JS asked for). */
export function text(ctx: ArgContext, argument: string, v: unknown, { empty = false } = {}): string {
  if (typeof v !== 'string') argError(ctx, argument, `expected a string, got ${describe(v)}`);
  if (v.includes('\0')) argError(ctx, argument, 'contains a NUL byte');
  if (!empty && v.length === 0) argError(ctx, argument, 'is empty');
  return v;
}

export function fn<F extends (...args: never[]) => unknown>(ctx: ArgContext, argument: string, v: unknown): F {
  if (typeof v !== 'function') argError(ctx, argument, `expected a function, got ${describe(v)}`);
  return v as F;
}

export function bytes(ctx: ArgContext, argument: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) argError(ctx, argument, `expected a Buffer or Uint8Array, got ${describe(v)}`);
  return v;
}

/** One of a closed set of strings. */
export function oneOf<T extends string>(ctx: ArgContext, argument: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    argError(ctx, argument, `expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

/** An options argument: undefined or a plain object; unknown keys are refused (a typo is not silently ignored). */
export function options<T extends object>(ctx: ArgContext, argument: string, v: unknown, keys: readonly string[]): Partial<T> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
    argError(ctx, argument, `expected an options object, got ${describe(v)}`);
  }
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) argError(ctx, argument, `unknown option ${k} (known: ${keys.join(', ')})`);
  }
  return v as Partial<T>;
}
