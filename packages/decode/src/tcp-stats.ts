// struct tcp_stats: TCP-only counters.
import { TcpState, type TcpState as TcpStateValue } from './enums.js';
import { structs } from './layout.gen.js';
import { recordClass, type RecordMethods } from './record.js';
import { alignedCopy, locate, slot, words } from './view.js';

const L = structs.tcp_stats;
const F = L.fields;
/** sizeof(struct tcp_stats). */
export const TCP_STATS_SIZE = L.size;
const RETRANSMITS = slot('tcp_stats.retransmits', F.retransmits).word;
const RTT = slot('tcp_stats.rtt', F.rtt).word;
const RTT_VAR = slot('tcp_stats.rtt_var', F.rtt_var).word;
const SEGS_OUT = slot('tcp_stats.segs_out', F.segs_out).word;
const SEGS_IN = slot('tcp_stats.segs_in', F.segs_in).word;
const STATE_TRANSITIONS = slot('tcp_stats.state_transitions', F.state_transitions);
const STATE = slot('tcp_stats.state', F.state);

/** A decoded struct tcp_stats (a view: see AbiRecord). */
export class TcpStats {
  // `declare`: no class-field definitions (define semantics cost more than decoding a tuple on Node 20).
  private declare readonly w: Int32Array;
  private declare readonly i: number;

  /** @internal Use decodeTcpStats(). */
  constructor(words: Int32Array, index: number) {
    this.w = words;
    this.i = index;
  }

  private word(k: number): number {
    return this.w[this.i + k] as number;
  }

  get byteLength(): number {
    return TCP_STATS_SIZE;
  }

  /** Retransmitted segments (tcp_sock.total_retrans). */
  get retransmits(): number {
    return this.word(RETRANSMITS) >>> 0;
  }
  /** Smoothed RTT in microseconds. */
  get rtt(): number {
    return this.word(RTT) >>> 0;
  }
  /** RTT variance in microseconds. */
  get rttVar(): number {
    return this.word(RTT_VAR) >>> 0;
  }
  /** Segments sent (tcp_sock.segs_out, TCP_INFO's tcpi_segs_out). */
  get segsOut(): number {
    return this.word(SEGS_OUT) >>> 0;
  }
  /** Segments received (tcp_sock.segs_in, TCP_INFO's tcpi_segs_in). */
  get segsIn(): number {
    return this.word(SEGS_IN) >>> 0;
  }
  /** The last TcpState seen (0: none yet, and for UDP). */
  get state(): TcpStateValue | 0 {
    return ((this.word(STATE.word) >>> STATE.shift) & 0xff) as TcpStateValue | 0;
  }
  /** Bit 1 << state for every TcpState the connection entered. */
  get stateTransitions(): number {
    return (this.word(STATE_TRANSITIONS.word) >>> STATE_TRANSITIONS.shift) & 0xffff;
  }

  /** Whether the connection ever entered `state`. */
  entered(state: TcpStateValue): boolean {
    return ((this.stateTransitions >>> state) & 1) === 1;
  }

  /** Entered ESTABLISHED (the seed's MonotonicTCPEstablished). */
  get established(): boolean {
    return this.entered(TcpState.ESTABLISHED);
  }

  /** Entered CLOSE (the seed's MonotonicTCPClosed). */
  get closed(): boolean {
    return this.entered(TcpState.CLOSE);
  }

  toObject(): TcpStatsObject {
    return {
      retransmits: this.retransmits,
      rtt: this.rtt,
      rttVar: this.rttVar,
      segsOut: this.segsOut,
      segsIn: this.segsIn,
      stateTransitions: this.stateTransitions,
      state: this.state,
    };
  }

  toJSON(): TcpStatsObject {
    return this.toObject();
  }
}

export interface TcpStats extends RecordMethods {}
recordClass(TcpStats);

export interface TcpStatsObject {
  retransmits: number;
  rtt: number;
  rttVar: number;
  segsOut: number;
  segsIn: number;
  stateTransitions: number;
  state: TcpStateValue | 0;
}

/** Decode a struct tcp_stats at `offset` of `buf` (24 bytes). */
export function decodeTcpStats(buf: Uint8Array, offset = 0): TcpStats {
  const i = locate('tcp_stats', buf, offset, TCP_STATS_SIZE);
  return i >= 0 ? new TcpStats(words(), i) : new TcpStats(alignedCopy(buf, offset, TCP_STATS_SIZE), 0);
}
