// guessOffsets(): the whole guess. Load the capture programs, bring the
// guesser's own sockets into known states, capture them, search, add rounds
// of sockets while a field has more than one candidate, then check every
// offset on fresh sockets. Everything is released on return and on error.
import { readFileSync } from 'node:fs';
import { probeFeature } from '@tracer-bpf/loader';
import { Capturer, type CaptureKind } from './capture.js';
import { decide, fieldError, type FieldValue, netPointerCandidates, searchAll, type Settled, toOffsets, unavailableFields, verify } from './decide.js';
import { GuessError } from './errors.js';
import { Observer, type Round } from './observe.js';
import type { Samples, SockSample } from './samples.js';
import { HOOK_FIELDS, type OffsetField, type SockOffsets } from './sock-offsets.js';

export interface GuessOptions {
  /** Rounds of sockets at most (each adds sockets with other values) before a field with several candidates is an error. Default 3. */
  maxRounds?: number;
  /** Guess the function hooks' fields with kprobes: 'auto' (where kprobes attach) or false. Default 'auto'. */
  kprobes?: 'auto' | false;
  /** Called with everything seen, also when the guess fails (to record fixtures). */
  onSamples?: (samples: Samples, fresh: Samples | undefined) => void;
}

/** One field of a guess: its offset, how it was found and how it was checked. */
export interface GuessedField {
  field: OffsetField;
  value: FieldValue | undefined;
  /** What the value had to be in every capture. */
  how: string;
  /** The window searched, bytes. */
  window: readonly [number, number];
  /** Captures it was checked against, in the search and on fresh sockets. */
  samples: number;
  freshSamples: number;
  /** Why the field is missing, when it is. */
  unavailable?: string;
}

export interface GuessResult {
  offsets: SockOffsets;
  fields: GuessedField[];
  rounds: number;
  /** Wall time of the whole guess, ms. */
  ms: number;
}

/** Addresses of the four struct proto objects from /proc/kallsyms, when it shows real ones. */
export function kallsymsProt(path = '/proc/kallsyms'): Samples['prot'] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const find = (sym: string): bigint => {
    for (const kind of [' d ', ' D ']) {
      const at = text.indexOf(`${kind}${sym}\n`);
      if (at >= 0) return BigInt(`0x${text.slice(text.lastIndexOf('\n', at) + 1, at)}`);
    }
    return 0n;
  };
  const p = { tcp: find('tcp_prot'), tcpv6: find('tcpv6_prot'), udp: find('udp_prot'), udpv6: find('udpv6_prot') };
  return Object.values(p).every((v) => v !== 0n) ? p : undefined;
}

function kprobeState(opt: GuessOptions['kprobes']): string | undefined {
  if (opt === false) return 'not asked for (kprobes: false)';
  const k = probeFeature('kprobes');
  return k.supported ? undefined : k.detail;
}

/** The UDP capture kind: sock_send_length (6.3+), else the kprobe on udp_sendmsg, else none. */
function udpKind(cap: Capturer): CaptureKind | undefined {
  if (cap.attached.has('guess_sock_send')) return 'sock';
  if (cap.attached.has('guess_udp_sendmsg')) return 'msghdr';
  return undefined;
}

async function round(obs: Observer, cap: Capturer, full: boolean): Promise<Round> {
  const socks: SockSample[] = [];
  const args: Round['args'] = [];
  const kp = { msghdr: cap.attached.has('guess_udp_sendmsg'), skb: cap.attached.has('guess_skb_consume_udp') };
  for (const family of obs.families) {
    const a = await obs.pair(family);
    const b = await obs.pair(family);
    socks.push(...obs.idle(a), ...obs.idle(b));
    socks.push(...(await obs.shutdowns(b)));
    if (full) {
      socks.push(...(await obs.more(a)));
      if (family === 4) {
        const c = await obs.pair(family);
        socks.push(...obs.idle(c));
        socks.push(...(await obs.repairSend(c)));
        socks.push(obs.repairRecv(await obs.pair(family)));
        socks.push(...obs.repaired(family));
      }
    }
    if (cap.attached.has('guess_inet_getname') && family === 4) {
      const s = obs.socketSample(a.client);
      if (s) args.push(s);
    }
    const u = await obs.udpSamples(family, udpKind(cap), kp);
    socks.push(...u.socks);
    args.push(...u.args);
  }
  return { socks, args };
}

/** Follow the skc_net candidates from one more capture: the (skc_net, ns.inum) search needs the struct net behind them. */
async function netRound(obs: Observer, ptrs: number[]): Promise<SockSample[]> {
  if (!ptrs.length) return [];
  const p = await obs.pair(4);
  return [obs.sockSample(p.client, 'struct net followed', 0, ptrs.slice(0, 16).map((ptrOff) => ({ ptrOff })))];
}

/**
 * Guess every offset the tracer needs on the running kernel, from the
 * guesser's own sockets, with classic tracepoints and (for the function
 * hooks' fields) kprobes; never kernel BTF. Each field is searched in its
 * own window and must come down to exactly one offset, which must then hold
 * on fresh sockets; anything else is a GuessError naming the field.
 */
export async function guessOffsetsDetailed(opts: GuessOptions = {}): Promise<GuessResult> {
  if (opts === null || typeof opts !== 'object') throw new GuessError('ERR_GUESS_OPTION', 'guessOffsets: options must be an object');
  const maxRounds = opts.maxRounds ?? 3;
  if (!Number.isInteger(maxRounds) || maxRounds < 1 || maxRounds > 10) throw new GuessError('ERR_GUESS_OPTION', `maxRounds: expected an integer from 1 to 10, got ${String(opts.maxRounds)}`);
  if (opts.kprobes !== undefined && opts.kprobes !== 'auto' && opts.kprobes !== false) throw new GuessError('ERR_GUESS_OPTION', `kprobes: expected 'auto' or false, got ${String(opts.kprobes)}`);
  const t0 = performance.now();
  const noKprobes = kprobeState(opts.kprobes ?? 'auto');
  const cap = await Capturer.open({ kprobes: noKprobes === undefined, kprobesWhy: noKprobes });
  let obs: Observer | undefined;
  const samples: Samples = { kernel: readKernelRelease(), socks: [], args: [], prot: kallsymsProt() };
  let fresh: Samples | undefined;
  try {
    obs = await Observer.open(cap);
    const unavailable = unavailableFields(noKprobes, obs.noIpv6);
    // Hooks that could not attach take their fields with them.
    for (const [name, why] of cap.missing) {
      if (name === 'guess_udp_sendmsg') unavailable.set('msghdrName', why);
      if (name === 'guess_skb_consume_udp') for (const f of ['skbHead', 'skbNetworkHeader', 'skbTransportHeader'] as const) unavailable.set(f, why);
      if (name === 'guess_inet_getname') unavailable.set('socketSk', why);
    }
    let rounds = 0;
    let decision;
    for (;;) {
      rounds++;
      const r = await round(obs, cap, true);
      samples.socks.push(...r.socks);
      samples.args.push(...r.args);
      samples.socks.push(...(await netRound(obs, netPointerCandidates(samples))));
      decision = decide(searchAll(samples), unavailable);
      if (decision.none.length) throw fieldError(decision.none[0]!);
      if (!decision.ambiguous.length) break;
      if (rounds >= maxRounds) throw fieldError(decision.ambiguous[0]!);
    }
    // The last check: fresh sockets, the offsets found must fit them too.
    const netOff = decision.settled.get('skcNet')?.value as number;
    const f = await round(obs, cap, false);
    fresh = { kernel: samples.kernel, socks: [...f.socks, ...(await netRound(obs, [netOff]))], args: f.args, prot: samples.prot };
    const failed = verify(decision.settled, fresh);
    if (failed.length) {
      const x = failed[0]!;
      throw new GuessError('ERR_GUESS_VERIFY', `offset guessing: ${x.field}: offset ${show(decision.settled.get(x.field)!.value)} did not hold on fresh sockets`, `candidates there: ${x.left.map(show).join(', ') || 'none'}`, x.field);
    }
    const fields: GuessedField[] = [];
    for (const [field, s] of decision.settled as Map<OffsetField, Settled>) {
      fields.push({ field, value: s.value, how: s.how, window: s.window, samples: s.samples, freshSamples: freshCount(field, fresh) });
    }
    for (const [field, why] of decision.unavailable) fields.push({ field, value: undefined, how: '', window: [0, 0], samples: 0, freshSamples: 0, unavailable: why });
    return { offsets: toOffsets(decision.settled, decision.unavailable), fields, rounds, ms: performance.now() - t0 };
  } finally {
    obs?.close();
    cap.close();
    opts.onSamples?.(samples, fresh);
  }
}

function freshCount(field: OffsetField, fresh: Samples): number {
  if ((HOOK_FIELDS as readonly string[]).includes(field)) return fresh.args.length;
  return fresh.socks.length;
}

function show(v: FieldValue): string {
  return typeof v === 'number' ? String(v) : `bit ${v.bitOffset} (${v.bits} bits)`;
}

function readKernelRelease(): string {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Guess every offset (see guessOffsetsDetailed): the offsets alone. */
export async function guessOffsets(opts: GuessOptions = {}): Promise<SockOffsets> {
  return (await guessOffsetsDetailed(opts)).offsets;
}
