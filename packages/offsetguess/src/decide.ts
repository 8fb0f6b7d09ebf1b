// From candidates to offsets: every field must come down to exactly one
// offset, and that offset must hold again on sockets the search never saw.
// Pure functions of the samples (tested on recorded captures).
import { GuessError } from './errors.js';
import type { Samples } from './samples.js';
import { type Candidates, netPointerCandidates, SEARCH, type Scope, searchHead, searchMsghdr, searchNet, searchSkb, searchSock, searchSocket, searchTcp, type Window } from './search.js';
import { type BitField, HOOK_FIELDS, IPV6_FIELDS, OFFSET_FIELDS, type OffsetField, type SockOffsets } from './sock-offsets.js';

export type FieldValue = number | BitField;

/** Every field's candidates from one set of samples. */
export function searchAll(s: Samples, scope: Scope = SEARCH): Map<OffsetField, Candidates<FieldValue>> {
  const m = new Map<OffsetField, Candidates<FieldValue>>();
  const put = (c: Candidates<FieldValue>): void => void m.set(c.field as OffsetField, c);
  for (const c of searchHead(s, scope)) put(c);
  const net = searchNet(s, scope);
  put(net.net);
  put(net.inum);
  const sock = searchSock(s, scope);
  put(sock.inetSport);
  put(sock.skProtocol);
  put(sock.skShutdown);
  for (const c of searchTcp(s, scope)) put(c);
  put(searchSocket(s.args));
  put(searchMsghdr(s.args));
  const skb = searchSkb(s.args);
  put(skb.head);
  put(skb.network);
  put(skb.transport);
  return m;
}

export { netPointerCandidates };

function show(v: FieldValue): string {
  return typeof v === 'number' ? String(v) : `bit ${v.bitOffset} (${v.bits} bits)`;
}

function same(a: FieldValue, b: FieldValue): boolean {
  return typeof a === 'number' ? a === b : typeof b !== 'number' && a.bitOffset === b.bitOffset && a.bits === b.bits;
}

/** A field settled by the search: its offset, how it was found, and its window. */
export interface Settled {
  field: OffsetField;
  value: FieldValue;
  how: string;
  window: Window;
  samples: number;
}

/** What decide() makes of the candidates. */
export interface Decision {
  settled: Map<OffsetField, Settled>;
  /** Fields with more than one candidate left (another round of sockets may settle them). */
  ambiguous: Candidates<FieldValue>[];
  /** Fields with none (an error: nothing fits). */
  none: Candidates<FieldValue>[];
  /** Fields not looked for, with the reason. */
  unavailable: Map<OffsetField, string>;
}

/**
 * Sort every field: settled (one candidate), ambiguous, none, or
 * unavailable (hook fields without kprobes, IPv6 fields without IPv6).
 */
export function decide(found: Map<OffsetField, Candidates<FieldValue>>, unavailable: ReadonlyMap<OffsetField, string>): Decision {
  const d: Decision = { settled: new Map(), ambiguous: [], none: [], unavailable: new Map(unavailable) };
  for (const f of OFFSET_FIELDS) {
    if (unavailable.has(f)) continue;
    const c = found.get(f);
    if (!c || c.candidates.length === 0) {
      d.none.push(c ?? { field: f, window: [0, 0], how: 'not searched', candidates: [], samples: 0 });
    } else if (c.candidates.length > 1) {
      d.ambiguous.push(c);
    } else {
      d.settled.set(f, { field: f, value: c.candidates[0]!, how: c.how, window: c.window, samples: c.samples });
    }
  }
  return d;
}

/** The error for a field that did not come down to one offset. */
export function fieldError(c: Candidates<FieldValue>): GuessError {
  const win = `[${c.window[0]}, ${c.window[1]})`;
  if (c.candidates.length === 0) {
    const why = c.samples === 0 ? 'no capture could show it' : `no offset in ${win} fits all ${c.samples} captures`;
    return new GuessError('ERR_GUESS_NOT_FOUND', `offset guessing: ${c.field}: ${why} (${c.how})`, c.samples === 0 ? 'nothing' : 'no candidate', c.field);
  }
  return new GuessError('ERR_GUESS_AMBIGUOUS', `offset guessing: ${c.field}: ${c.candidates.length} offsets in ${win} fit all ${c.samples} captures (${c.how})`, `candidates ${c.candidates.map(show).join(', ')}`, c.field);
}

/**
 * Check settled offsets against fresh samples: each must still be a
 * candidate there. Returns the fields that failed, with what was left.
 */
export function verify(settled: ReadonlyMap<OffsetField, Settled>, fresh: Samples): { field: OffsetField; left: FieldValue[] }[] {
  const again = searchAll(fresh, { gates: false, at: new Map([...settled].map(([f, x]) => [f, x.value])) });
  const failed: { field: OffsetField; left: FieldValue[] }[] = [];
  for (const [f, s] of settled) {
    const c = again.get(f);
    if (!c || !c.candidates.some((v) => same(v, s.value))) failed.push({ field: f, left: c?.candidates ?? [] });
  }
  return failed;
}

/** SockOffsets from settled fields (every field settled or unavailable: checked by the caller). */
export function toOffsets(settled: ReadonlyMap<OffsetField, Settled>, unavailable: ReadonlyMap<OffsetField, string>): SockOffsets {
  const o: Record<string, unknown> = {};
  for (const [f, s] of settled) o[f] = s.value;
  if (unavailable.size) o.unavailable = Object.fromEntries(unavailable);
  return o as unknown as SockOffsets;
}

/** Fields a kernel without kprobes / without IPv6 cannot show. */
export function unavailableFields(noKprobes: string | undefined, noIpv6: string | undefined): Map<OffsetField, string> {
  const m = new Map<OffsetField, string>();
  if (noKprobes) for (const f of HOOK_FIELDS) m.set(f, `read only by the function hooks (fentry, kprobe backends); guessing it needs kprobes: ${noKprobes}`);
  if (noIpv6) for (const f of IPV6_FIELDS) m.set(f, noIpv6);
  return m;
}
