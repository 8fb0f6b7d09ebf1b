// struct telemetry: the tracer's health counters, one entry per CPU of a
// per-CPU array map (read rarely: decoded eagerly into bigints).
import { structs } from './layout.gen.js';
import { alignedCopy, locate, slot, u64, words } from './view.js';

type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
type TelemetryFields = typeof structs.telemetry.fields;

/** Every counter of struct telemetry, camelCased (conn_stats_full: connStatsFull), exact. */
export type Telemetry = { readonly [K in keyof TelemetryFields as K extends `_${string}` ? never : CamelCase<K & string>]: bigint };

/** sizeof(struct telemetry) (also its per-CPU stride: a multiple of 8). */
export const TELEMETRY_SIZE = structs.telemetry.size;

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const COUNTERS: readonly (readonly [string, number])[] = Object.entries(structs.telemetry.fields as Record<string, { offset: number; size: number; type: string }>)
  .filter(([name]) => !name.startsWith('_'))
  .map(([name, f]) => {
    if (f.type !== 'u64') throw new Error(`@tracer-bpf/decode: telemetry.${name} is a ${f.type}, counters are u64`);
    return [camel(name), slot(`telemetry.${name}`, f).word] as const;
  });

/** Decode one struct telemetry at `offset` of `buf` (TELEMETRY_SIZE bytes, one CPU's entry) into exact counters. */
export function decodeTelemetry(buf: Uint8Array, offset = 0): Telemetry {
  return sumTelemetry(buf, offset, 1);
}

/**
 * Sum `count` struct telemetry entries laid back to back from `offset` of
 * `buf`: a per-CPU map value (one TELEMETRY_SIZE entry per possible CPU). By
 * default every whole entry in the buffer after `offset`. Exact (bigints).
 */
export function sumTelemetry(buf: Uint8Array, offset = 0, count = Math.max(1, Math.floor(((buf?.byteLength ?? 0) - offset) / TELEMETRY_SIZE))): Telemetry {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`sumTelemetry: count ${count} is not a positive integer`);
  const size = count * TELEMETRY_SIZE;
  const at = locate('telemetry', buf, offset, size);
  const w = at >= 0 ? words() : alignedCopy(buf, offset, size);
  const base = at >= 0 ? at : 0;
  const out: Record<string, bigint> = {};
  for (const [name, k] of COUNTERS) {
    let sum = 0n;
    for (let c = 0, i = base; c < count; c++, i += TELEMETRY_SIZE / 4) sum += u64(w[i + k] as number, w[i + k + 1] as number);
    out[name] = sum;
  }
  return out as Telemetry;
}
