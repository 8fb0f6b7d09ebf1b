// guessOffsets(): the whole guess. Load the capture programs, bring the
// guesser's own sockets into known states, capture them, search, add rounds
// of sockets while a field has more than one candidate, then check every
// offset on fresh sockets. Everything is released on return and on error.
import { existsSync, readFileSync } from 'node:fs';
import { findTracefs } from '@tracer-bpf/loader';
import { Capturer, type CaptureKind } from './capture.js';
import { decide, fieldError, type FieldValue, netPointerCandidates, searchAll, type Settled, toOffsets, unavailableFields, verify } from './decide.js';
import { GuessError } from './errors.js';
import { Observer, type Round } from './observe.js';
import type { Family, TcpPair } from './sockets.js';
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
  /**
   * Where that time went, ms per phase in order: `sockets` (the first sockets
   * in their states; the programs load meanwhile), `programs` (waiting for
   * the load and attach after that), `search` (captures and searches of
   * every round), `check` (fresh sockets captured and checked), `release`.
   */
  phases: Record<'sockets' | 'programs' | 'search' | 'check' | 'release', number>;
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

/**
 * Why kprobes cannot be used, or undefined when they may (an attach failure
 * is still reported per hook). Looks for the kprobe PMU or tracefs
 * kprobe_events only: the loader's feature probe would also try fentry,
 * which reads kernel BTF.
 */
function kprobeState(opt: GuessOptions['kprobes']): string | undefined {
  if (opt === false) return 'not asked for (kprobes: false)';
  if (existsSync('/sys/bus/event_source/devices/kprobe/type')) return undefined;
  const tracefs = findTracefs();
  if (tracefs && existsSync(`${tracefs}/kprobe_events`)) return undefined;
  return 'this kernel has no kprobes (no kprobe PMU in /sys/bus/event_source/devices, no kprobe_events in tracefs: CONFIG_KPROBES is off)';
}

/** The UDP capture kind: sock_send_length (6.3+), else the kprobe on udp_sendmsg, else none. */
function udpKind(cap: Capturer): CaptureKind | undefined {
  if (cap.attached.has('sock_send')) return 'sock';
  if (cap.attached.has('udp_sendmsg')) return 'msghdr';
  return undefined;
}

/** The sockets of a round, connected and with data both ways (before the capture programs are needed). */
interface Setup {
  family: Family;
  idle: TcpPair;
  shut: TcpPair;
  retrans?: TcpPair | undefined;
  sack?: TcpPair | undefined;
  queued?: TcpPair | undefined;
}

async function setup(obs: Observer, full: boolean): Promise<Setup[]> {
  return Promise.all(
    obs.families.map(async (family) => {
      const four = full && family === 4;
      const more = (): Promise<TcpPair | undefined> => (four ? obs.pair(family) : Promise.resolve(undefined));
      const [idle, shut, retrans, sack, queued] = await Promise.all([obs.pair(family), obs.pair(family), more(), more(), more()]);
      return { family, idle, shut, retrans, sack, queued };
    }),
  );
}

/**
 * One round of captures: per family an idle pair (then MSG_MORE), a pair
 * shut down both ways, UDP; in a full round (IPv4) the TCP_REPAIR states and
 * a retransmitting connection too. What waits on the kernel runs side by side.
 */
async function round(obs: Observer, cap: Capturer, sets: Setup[], full: boolean): Promise<Round> {
  const socks: SockSample[] = [];
  const args: Round['args'] = [];
  const kp = { msghdr: cap.attached.has('udp_sendmsg'), skb: cap.attached.has('skb_consume_udp') };
  const waits: Promise<SockSample[]>[] = [];
  try {
    for (const s of sets) {
      if (s.retrans) waits.push(obs.retransmit(s.retrans, true));
      if (s.sack) waits.push(obs.retransmit(s.sack, false));
      socks.push(...obs.idle(s.idle), ...obs.idle(s.shut));
      if (s.queued) socks.push(obs.repairRecv(s.queued), ...obs.repaired(s.family));
      if (cap.attached.has('inet_getname') && s.family === 4) {
        const a = obs.socketSample(s.idle.client);
        if (a) args.push(a);
      }
      waits.push(obs.shutdowns(s.shut));
      if (full) waits.push(obs.more(s.idle));
      const u = obs.udpSamples(s.family, udpKind(cap), kp);
      socks.push(...u.socks);
      args.push(...u.args);
    }
  } finally {
    // Every wait settles before anything is closed: none may poll a closed socket.
    const settled = await Promise.allSettled(waits);
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    for (const r of settled) if (r.status === 'fulfilled') socks.push(...r.value);
  }
  return { socks, args };
}

/** Follow the skc_net candidates from one more capture of an idle socket: ns.inum is in the struct net behind them. */
function netSample(obs: Observer, sets: Setup[], ptrs: number[]): SockSample[] {
  if (!ptrs.length) return [];
  return [obs.sockSample(sets[0]!.idle.client, 'struct net followed', 0, ptrs.slice(0, 16).map((ptrOff) => ({ ptrOff })))];
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
  const phases: GuessResult['phases'] = { sockets: 0, programs: 0, search: 0, check: 0, release: 0 };
  let last = t0;
  const lap = (name: keyof GuessResult['phases']): void => {
    const now = performance.now();
    phases[name] = Math.round((now - last) * 10) / 10;
    last = now;
  };
  const noKprobes = kprobeState(opts.kprobes ?? 'auto');
  // The programs load (on the thread pool) while the sockets connect.
  const opening = Capturer.open({ kprobes: noKprobes === undefined, kprobesWhy: noKprobes });
  let cap: Capturer | undefined;
  let obs: Observer | undefined;
  const samples: Samples = { kernel: readKernelRelease(), socks: [], args: [] };
  let fresh: Samples | undefined;
  let result: GuessResult;
  try {
    obs = Observer.open();
    let sets: Setup[];
    try {
      sets = await setup(obs, true);
      lap('sockets');
    } finally {
      cap = await opening;
    }
    lap('programs');
    obs.cap = cap;
    const unavailable = unavailableFields(noKprobes, obs.noIpv6);
    // Hooks that could not attach take their fields with them.
    for (const [name, why] of cap.missing) {
      if (name === 'udp_sendmsg') unavailable.set('msghdrName', why);
      if (name === 'skb_consume_udp') for (const f of ['skbHead', 'skbNetworkHeader', 'skbTransportHeader'] as const) unavailable.set(f, why);
      if (name === 'inet_getname') unavailable.set('socketSk', why);
    }
    if (!udpKind(cap)) {
      unavailable.set('skProtocol', `no UDP socket can be captured here (no sock:sock_send_length before 6.3${cap.missing.get('udp_sendmsg') ? `, and ${cap.missing.get('udp_sendmsg')}` : ''}): TCP sockets alone cannot tell sk_protocol from other fields`);
    }
    let rounds = 0;
    let decision;
    for (;;) {
      rounds++;
      if (rounds > 1) sets = await setup(obs, true);
      const r = await round(obs, cap, sets, true);
      samples.socks.push(...r.socks);
      samples.args.push(...r.args);
      samples.socks.push(...netSample(obs, sets, netPointerCandidates(samples)));
      decision = decide(searchAll(samples), unavailable);
      if (!samples.prot && [...decision.none, ...decision.ambiguous].some((c) => c.field === 'skcProt')) {
        // Without UDP captures skc_prot is told apart by the protocols' addresses (read only then: /proc/kallsyms is slow to read).
        samples.prot = kallsymsProt();
        decision = decide(searchAll(samples), unavailable);
      }
      if (decision.none.length) throw fieldError(decision.none[0]!);
      if (!decision.ambiguous.length) break;
      if (rounds >= maxRounds) throw fieldError(decision.ambiguous[0]!);
    }
    lap('search');
    // The last check: fresh sockets, the offsets found must fit them too.
    const netOff = decision.settled.get('skcNet')?.value as number;
    const freshSets = await setup(obs, false);
    const f = await round(obs, cap, freshSets, false);
    const check: Samples = { kernel: samples.kernel, socks: [...f.socks, ...netSample(obs, freshSets, [netOff])], args: f.args, prot: samples.prot };
    fresh = check;
    const failed = verify(decision.settled, check);
    if (failed.length) {
      const x = failed[0]!;
      throw new GuessError('ERR_GUESS_VERIFY', `offset guessing: ${x.field}: offset ${show(decision.settled.get(x.field)!.value)} did not hold on fresh sockets`, `candidates there: ${x.left.map(show).join(', ') || 'none'}`, x.field);
    }
    const fields: GuessedField[] = [];
    for (const [field, s] of decision.settled as Map<OffsetField, Settled>) {
      fields.push({ field, value: s.value, how: s.how, window: s.window, samples: s.samples, freshSamples: freshCount(field, check) });
    }
    for (const [field, why] of decision.unavailable) fields.push({ field, value: undefined, how: '', window: [0, 0], samples: 0, freshSamples: 0, unavailable: why });
    lap('check');
    result = { offsets: toOffsets(decision.settled, decision.unavailable), fields, rounds, ms: 0, phases };
  } finally {
    obs?.close();
    if (cap) cap.close();
    else void opening.then((c) => c.close(), () => {});
    opts.onSamples?.(samples, fresh);
  }
  lap('release');
  result.ms = performance.now() - t0;
  return result;
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
