// resolveOffsets(): offsets from kernel BTF, guessed, or both compared; with
// an explanation for humans of every field: its offset, where it came from
// and how it was checked.
import type { Btf } from '@tracer-bpf/btf';
import { readKernelBtf } from './kernel-btf.js';
import { GuessError } from './errors.js';
import { offsetsFromBtf } from './from-btf.js';
import { guessOffsetsDetailed, type GuessedField, type GuessOptions } from './guess.js';
import { type BitField, OFFSET_FIELDS, type OffsetField, type OffsetSource, type SockOffsets } from './sock-offsets.js';

export type ResolveSource = 'auto' | 'btf' | 'guess' | 'verify';

export interface ResolveOptions extends GuessOptions {
  /**
   * 'btf': kernel BTF (an error without it); 'guess': guessed, never looking
   * at BTF; 'auto' (default): BTF when readable, else guessed; 'verify': both,
   * every difference reported (the BTF offsets are returned).
   */
  source?: ResolveSource;
  /** A BTF to read instead of /sys/kernel/btf/vmlinux (btf, auto, verify). */
  btf?: Btf;
}

/** One field as resolved. */
export interface FieldExplanation {
  field: OffsetField;
  /** Byte offset, or bit position and width; undefined when unavailable. */
  value: number | BitField | undefined;
  source: OffsetSource;
  /** Where it came from and how it was checked, in words. */
  how: string;
}

/** A field where guessing and BTF disagree ('verify'). */
export interface OffsetDifference {
  field: OffsetField;
  btf: number | BitField | undefined;
  guess: number | BitField | undefined;
  /** Why this is (or is not) a real disagreement. */
  note: string;
}

export interface ResolvedOffsets {
  offsets: SockOffsets;
  source: OffsetSource;
  /** Why this source: 'auto' says whether BTF was readable. */
  reason: string;
  fields: FieldExplanation[];
  /** 'verify' only: every field where the guess differs from BTF (empty: none). */
  differences?: OffsetDifference[];
  /** The guess's wall time and rounds, when it guessed. */
  guessMs?: number;
  guessRounds?: number;
  /** Every field on its own line, for humans. */
  explanation: string;
}

const BTF_MEMBER: Record<OffsetField, string> = {
  skcFamily: 'sock.__sk_common.skc_family',
  skcState: 'sock.__sk_common.skc_state',
  skcRcvSaddr: 'sock.__sk_common.skc_rcv_saddr',
  skcDaddr: 'sock.__sk_common.skc_daddr',
  skcDport: 'sock.__sk_common.skc_dport',
  skcNum: 'sock.__sk_common.skc_num',
  skcV6RcvSaddr: 'sock.__sk_common.skc_v6_rcv_saddr',
  skcV6Daddr: 'sock.__sk_common.skc_v6_daddr',
  skcProt: 'sock.__sk_common.skc_prot',
  skcNet: 'sock.__sk_common.skc_net',
  netNsInum: 'net.ns.inum',
  inetSport: 'inet_sock.inet_sport',
  skProtocol: 'sock.sk_protocol',
  skShutdown: 'sock.sk_shutdown',
  tcpWriteSeq: 'tcp_sock.write_seq',
  tcpSndUna: 'tcp_sock.snd_una',
  tcpBytesAcked: 'tcp_sock.bytes_acked',
  tcpCopiedSeq: 'tcp_sock.copied_seq',
  tcpRcvNxt: 'tcp_sock.rcv_nxt',
  tcpBytesReceived: 'tcp_sock.bytes_received',
  tcpSrttUs: 'tcp_sock.srtt_us',
  tcpMdevUs: 'tcp_sock.mdev_us',
  tcpTotalRetrans: 'tcp_sock.total_retrans',
  tcpSegsIn: 'tcp_sock.segs_in',
  tcpSegsOut: 'tcp_sock.segs_out',
  skbHead: 'sk_buff.head',
  skbNetworkHeader: 'sk_buff.network_header',
  skbTransportHeader: 'sk_buff.transport_header',
  socketSk: 'socket.sk',
  msghdrName: 'msghdr.msg_name',
};

function show(v: number | BitField | undefined): string {
  if (v === undefined) return '-';
  return typeof v === 'number' ? String(v) : `bit ${v.bitOffset} (byte ${v.bitOffset >> 3}, ${v.bits} bits)`;
}

function btfFields(o: SockOffsets): FieldExplanation[] {
  return OFFSET_FIELDS.map((field) => ({ field, value: o[field], source: 'btf' as const, how: `kernel BTF: ${BTF_MEMBER[field]} (the kernel's own description of its types)` }));
}

function guessFields(fields: GuessedField[]): FieldExplanation[] {
  const by = new Map(fields.map((f) => [f.field, f]));
  return OFFSET_FIELDS.map((field) => {
    const f = by.get(field);
    if (!f || f.unavailable) return { field, value: undefined, source: 'guess' as const, how: `unavailable: ${f?.unavailable ?? 'not guessed'}` };
    return {
      field,
      value: f.value,
      source: 'guess' as const,
      how: `guessed in [${f.window[0]}, ${f.window[1]}): the one offset where ${f.how}, in ${f.samples} captures; held again on ${f.freshSamples} captures of fresh sockets`,
    };
  });
}

/** Text for humans: one line per field. */
export function explain(r: Pick<ResolvedOffsets, 'source' | 'reason' | 'fields' | 'differences'>): string {
  const w = Math.max(...r.fields.map((f) => f.field.length));
  const lines = [`offsets from ${r.source === 'btf' ? 'kernel BTF' : 'offset guessing'} (${r.reason})`];
  for (const f of r.fields) lines.push(`  ${f.field.padEnd(w)}  ${show(f.value).padStart(6)}  ${f.how}`);
  if (r.differences) {
    lines.push(r.differences.length ? `${r.differences.length} difference(s) between guessing and BTF:` : 'guessing and BTF agree on every field');
    for (const d of r.differences) lines.push(`  ${d.field}: BTF ${show(d.btf)}, guessed ${show(d.guess)} (${d.note})`);
  }
  return lines.join('\n');
}

/**
 * Fields where the guess and BTF differ. A two-bit sk_shutdown at the BTF's
 * bit position is not a difference (the guess reads the two bits its values
 * use: SHUTDOWN_MASK); a field the guess reports unavailable is listed.
 */
export function compareOffsets(btf: SockOffsets, guess: SockOffsets): OffsetDifference[] {
  const out: OffsetDifference[] = [];
  for (const field of OFFSET_FIELDS) {
    const b = btf[field];
    const g = guess[field];
    if (g === undefined) {
      out.push({ field, btf: b, guess: g, note: `not guessed: ${guess.unavailable?.[field] ?? 'missing'}` });
      continue;
    }
    if (typeof b === 'number' || typeof g === 'number' || b === undefined) {
      if (b !== g) out.push({ field, btf: b, guess: g, note: 'different offsets' });
      continue;
    }
    if (b.bitOffset !== g.bitOffset) out.push({ field, btf: b, guess: g, note: 'different bit positions' });
    else if (g.bits > b.bits) out.push({ field, btf: b, guess: g, note: 'the guess reads more bits than the field has' });
    else if (g.bits < b.bits && field !== 'skShutdown') out.push({ field, btf: b, guess: g, note: 'the guess reads fewer bits than the field has' });
  }
  return out;
}

/** Kernel BTF, or undefined when it cannot be read. */
function readBtf(given: Btf | undefined): { btf?: Btf; why?: string } {
  if (given) return { btf: given };
  try {
    return { btf: readKernelBtf() };
  } catch (e) {
    return { why: (e as Error).message };
  }
}

/** Offsets from kernel BTF, guessed, or both compared (see ResolveOptions.source), explained. */
export async function resolveOffsets(opts: ResolveOptions = {}): Promise<ResolvedOffsets> {
  if (opts === null || typeof opts !== 'object') throw new GuessError('ERR_GUESS_OPTION', 'resolveOffsets: options must be an object');
  const source = opts.source ?? 'auto';
  if (!['auto', 'btf', 'guess', 'verify'].includes(source)) {
    throw new GuessError('ERR_GUESS_OPTION', `source: expected 'auto', 'btf', 'guess' or 'verify', got ${String(opts.source)}`);
  }
  const finish = (r: Omit<ResolvedOffsets, 'explanation'>): ResolvedOffsets => ({ ...r, explanation: explain(r) });
  const guess = async (reason: string): Promise<ResolvedOffsets> => {
    const g = await guessOffsetsDetailed(opts);
    return finish({ offsets: g.offsets, source: 'guess', reason, fields: guessFields(g.fields), guessMs: g.ms, guessRounds: g.rounds });
  };
  if (source === 'guess') return guess('asked for guessing');
  const { btf, why } = readBtf(opts.btf);
  if (source === 'auto' && !btf) return guess(`kernel BTF is not readable: ${why}`);
  if (!btf) throw new GuessError('ERR_GUESS_OPTION', `source '${source}': kernel BTF is not readable (${why}); use 'guess' or 'auto'`);
  const fromBtf = offsetsFromBtf(btf);
  if (source !== 'verify') return finish({ offsets: fromBtf, source: 'btf', reason: source === 'auto' ? 'kernel BTF is readable' : 'asked for BTF', fields: btfFields(fromBtf) });
  const g = await guessOffsetsDetailed(opts);
  const differences = compareOffsets(fromBtf, g.offsets);
  const guessed = new Map(guessFields(g.fields).map((f) => [f.field, f]));
  const fields = btfFields(fromBtf).map((f) => ({ ...f, how: `${f.how}; guessed: ${show(guessed.get(f.field)?.value)} (${guessed.get(f.field)?.how ?? ''})` }));
  return finish({ offsets: fromBtf, source: 'btf', reason: 'asked to verify: BTF returned, guessed and compared', fields, differences, guessMs: g.ms, guessRounds: g.rounds });
}
