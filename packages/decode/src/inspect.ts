/** util.inspect's hook, without importing node:util. */
export const inspectSymbol: unique symbol = Symbol.for('nodejs.util.inspect.custom') as never;

/** A copy of `o` with every bigint as a decimal string (for JSON). */
export function jsonSafe<T extends object>(o: T): { [K in keyof T]: T[K] extends bigint ? string : T[K] } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = typeof v === 'bigint' ? v.toString() : v;
  return out as never;
}
