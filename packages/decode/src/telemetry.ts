// struct telemetry: the tracer's health counters (read rarely: decoded eagerly into bigints).
import { structs } from './layout.gen.js';
import { alignedCopy, locate, slot, u64, words } from './view.js';

type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
type TelemetryFields = typeof structs.telemetry.fields;

/** Every counter of struct telemetry, camelCased (tcp_sent_miscounts: tcpSentMiscounts), exact. */
export type Telemetry = { readonly [K in keyof TelemetryFields as K extends `_${string}` ? never : CamelCase<K & string>]: bigint };

/** sizeof(struct telemetry). */
export const TELEMETRY_SIZE = structs.telemetry.size;

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const COUNTERS: readonly (readonly [string, number])[] = Object.entries(structs.telemetry.fields as Record<string, { offset: number; size: number; type: string }>)
  .filter(([name]) => !name.startsWith('_'))
  .map(([name, f]) => {
    if (f.type !== 'u64') throw new Error(`@tracer-bpf/decode: telemetry.${name} is a ${f.type}, counters are u64`);
    return [camel(name), slot(`telemetry.${name}`, f).word] as const;
  });

/** Decode a struct telemetry at `offset` of `buf` (48 bytes) into exact counters. */
export function decodeTelemetry(buf: Uint8Array, offset = 0): Telemetry {
  const at = locate('telemetry', buf, offset, TELEMETRY_SIZE);
  const w = at >= 0 ? words() : alignedCopy(buf, offset, TELEMETRY_SIZE);
  const i = at >= 0 ? at : 0;
  const out: Record<string, bigint> = {};
  for (const [name, k] of COUNTERS) out[name] = u64(w[i + k] as number, w[i + k + 1] as number);
  return out as Telemetry;
}
