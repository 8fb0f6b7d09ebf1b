// struct conn_stats: per-connection counters.
import { ConnFlags, type ConnDirection } from './enums.js';
import { jsonSafe } from './inspect.js';
import { structs } from './layout.gen.js';
import { recordClass, type RecordMethods } from './record.js';
import { alignedCopy, locate, slot, u64, words } from './view.js';

const L = structs.conn_stats;
const F = L.fields;
/** sizeof(struct conn_stats). */
export const CONN_STATS_SIZE = L.size;
const SENT_BYTES = slot('conn_stats.sent_bytes', F.sent_bytes).word;
const RECV_BYTES = slot('conn_stats.recv_bytes', F.recv_bytes).word;
const TIMESTAMP = slot('conn_stats.timestamp', F.timestamp).word;
const ID = slot('conn_stats.id', F.id).word;
const START = slot('conn_stats.start', F.start).word;
const FLAGS = slot('conn_stats.flags', F.flags).word;
const DIRECTION = slot('conn_stats.direction', F.direction);
const SENT_PACKETS = slot('conn_stats.sent_packets', F.sent_packets).word;
const RECV_PACKETS = slot('conn_stats.recv_packets', F.recv_packets).word;

/** A decoded struct conn_stats (a view: see AbiRecord). 64-bit values are exact bigints. */
export class ConnStats {
  // `declare`: no class-field definitions (define semantics cost more than decoding a tuple on Node 20).
  private declare readonly w: Int32Array;
  private declare readonly i: number;

  /** @internal Use decodeConnStats(). */
  constructor(words: Int32Array, index: number) {
    this.w = words;
    this.i = index;
  }

  private word(k: number): number {
    return this.w[this.i + k] as number;
  }

  get byteLength(): number {
    return CONN_STATS_SIZE;
  }

  #u64(k: number): bigint {
    return u64(this.word(k), this.word(k + 1));
  }

  get sentBytes(): bigint {
    return this.#u64(SENT_BYTES);
  }
  get recvBytes(): bigint {
    return this.#u64(RECV_BYTES);
  }
  /** TCP segments / UDP datagrams sent. */
  get sentPackets(): bigint {
    return this.#u64(SENT_PACKETS);
  }
  /** TCP segments / UDP datagrams received. */
  get recvPackets(): bigint {
    return this.#u64(RECV_PACKETS);
  }
  /** bpf_ktime_get_ns() of the last update (CLOCK_MONOTONIC ns; the close time in a close record). */
  get timestamp(): bigint {
    return this.#u64(TIMESTAMP);
  }
  /** Connection id: the kernel's socket cookie (idIsCookie) or an id the tracer assigned at first sight. A new id on the same tuple is a new connection. */
  get id(): bigint {
    return this.#u64(ID);
  }
  /** bpf_ktime_get_ns() when the connection was first seen (CLOCK_MONOTONIC ns; its open time unless seenLate). */
  get start(): bigint {
    return this.#u64(START);
  }
  /** ConnFlags bits. */
  get flags(): number {
    return this.word(FLAGS) >>> 0;
  }
  /** Kernel direction (ConnDirection.UNKNOWN / INCOMING / OUTGOING). */
  get direction(): ConnDirection {
    return ((this.word(DIRECTION.word) >>> DIRECTION.shift) & 0xff) as ConnDirection;
  }
  /** UDP: traffic was seen both ways (ConnFlags.ASSURED). */
  get isAssured(): boolean {
    return (this.word(FLAGS) & ConnFlags.ASSURED) !== 0;
  }
  /** `id` is the kernel's socket cookie, not an id the tracer assigned (ConnFlags.ID_COOKIE). */
  get idIsCookie(): boolean {
    return (this.word(FLAGS) & ConnFlags.ID_COOKIE) !== 0;
  }
  /** First seen after it was opened (it existed before the tracer): counters and `start` begin then (ConnFlags.SEEN_LATE). */
  get seenLate(): boolean {
    return (this.word(FLAGS) & ConnFlags.SEEN_LATE) !== 0;
  }
  /** No I/O in process context seen yet: the tuple's pid is 0 (ConnFlags.NO_PID). */
  get noPid(): boolean {
    return (this.word(FLAGS) & ConnFlags.NO_PID) !== 0;
  }

  toObject(): ConnStatsObject {
    return {
      sentBytes: this.sentBytes,
      recvBytes: this.recvBytes,
      sentPackets: this.sentPackets,
      recvPackets: this.recvPackets,
      timestamp: this.timestamp,
      id: this.id,
      start: this.start,
      flags: this.flags,
      direction: this.direction,
    };
  }

  /** Bigints as decimal strings. */
  toJSON(): ReturnType<typeof jsonSafe<ConnStatsObject>> {
    return jsonSafe(this.toObject());
  }
}

export interface ConnStats extends RecordMethods {}
recordClass(ConnStats);

export interface ConnStatsObject {
  sentBytes: bigint;
  recvBytes: bigint;
  sentPackets: bigint;
  recvPackets: bigint;
  timestamp: bigint;
  id: bigint;
  start: bigint;
  flags: number;
  direction: ConnDirection;
}

/** Decode a struct conn_stats at `offset` of `buf` (64 bytes). */
export function decodeConnStats(buf: Uint8Array, offset = 0): ConnStats {
  const i = locate('conn_stats', buf, offset, CONN_STATS_SIZE);
  return i >= 0 ? new ConnStats(words(), i) : new ConnStats(alignedCopy(buf, offset, CONN_STATS_SIZE), 0);
}
