// struct conn: the close record (tuple + stats + TCP stats + why it closed).
import { ConnStats, type ConnStatsObject } from './conn-stats.js';
import { closeReason, type CloseReason, type ConnCloseReason } from './enums.js';
import { structs } from './layout.gen.js';
import { recordClass, type RecordMethods } from './record.js';
import { TcpStats, type TcpStatsObject } from './tcp-stats.js';
import { ConnTuple, type ConnTupleObject } from './tuple.js';
import { alignedCopy, locate, slot, wordIndex, words } from './view.js';

const L = structs.conn;
/** sizeof(struct conn). */
export const CONN_SIZE = L.size;
const TUP = wordIndex('conn.tup', L.fields.tup.offset);
const CONN_STATS = wordIndex('conn.conn_stats', L.fields.conn_stats.offset);
const TCP_STATS = wordIndex('conn.tcp_stats', L.fields.tcp_stats.offset);
const REASON = slot('conn.reason', L.fields.reason);

/** A decoded close record (a view: see AbiRecord): its tuple, its counters, its TCP counters (zero for UDP) and why it was made. */
export class Conn {
  private declare readonly w: Int32Array;
  private declare readonly i: number;
  // Sub-records, made on first use (`declare`: see ConnTuple).
  private declare _tuple: ConnTuple | undefined;
  private declare _stats: ConnStats | undefined;
  private declare _tcp: TcpStats | undefined;

  /** @internal Use decodeConn() or toBatch(). */
  constructor(words: Int32Array, index: number) {
    this.w = words;
    this.i = index;
    this._tuple = undefined;
    this._stats = undefined;
    this._tcp = undefined;
  }

  get byteLength(): number {
    return CONN_SIZE;
  }

  get tuple(): ConnTuple {
    return (this._tuple ??= new ConnTuple(this.w, this.i + TUP));
  }

  get stats(): ConnStats {
    return (this._stats ??= new ConnStats(this.w, this.i + CONN_STATS));
  }

  get tcp(): TcpStats {
    return (this._tcp ??= new TcpStats(this.w, this.i + TCP_STATS));
  }

  /** Kernel reason byte (ConnCloseReason.DESTROYED / FAILED / EXPIRED; 0 when none was set). */
  get reason(): ConnCloseReason | 0 {
    return (((this.w[this.i + REASON.word] as number) >>> REASON.shift) & 0xff) as ConnCloseReason | 0;
  }

  /** Userspace close reason: 'destroyed', 'failed', 'expired' ('unknown' for a reason byte this version does not know). */
  get closeReason(): CloseReason {
    return closeReason(this.reason);
  }

  toObject(): ConnObject {
    return { tuple: this.tuple.toObject(), stats: this.stats.toObject(), tcp: this.tcp.toObject(), reason: this.reason, closeReason: this.closeReason };
  }

  toJSON(): { tuple: ConnTupleObject; stats: ReturnType<ConnStats['toJSON']>; tcp: TcpStatsObject; reason: ConnCloseReason | 0; closeReason: CloseReason } {
    return { tuple: this.tuple.toJSON(), stats: this.stats.toJSON(), tcp: this.tcp.toJSON(), reason: this.reason, closeReason: this.closeReason };
  }
}

export interface Conn extends RecordMethods {}
recordClass(Conn);

export interface ConnObject {
  tuple: ConnTupleObject;
  stats: ConnStatsObject;
  tcp: TcpStatsObject;
  /** Kernel reason byte (ConnCloseReason). */
  reason: ConnCloseReason | 0;
  closeReason: CloseReason;
}

/** Decode a struct conn (close record) at `offset` of `buf` (144 bytes). */
export function decodeConn(buf: Uint8Array, offset = 0): Conn {
  const i = locate('conn', buf, offset, CONN_SIZE);
  return i >= 0 ? new Conn(words(), i) : new Conn(alignedCopy(buf, offset, CONN_SIZE), 0);
}
