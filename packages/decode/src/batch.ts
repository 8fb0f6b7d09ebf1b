// struct batch: the per-CPU batch of close records sent on the perf buffer.
import { Conn, type ConnObject } from './conn.js';
import { CONN_CLOSED_BATCH_SIZE } from './enums.js';
import { DecodeError } from './errors.js';
import { structs } from './layout.gen.js';
import { recordClass, type RecordMethods } from './record.js';
import { alignedCopy, locate, slot, u64, wordIndex, words } from './view.js';

const L = structs.batch;
const F = L.fields;
/** sizeof(struct batch). */
export const BATCH_SIZE = L.size;
const LEN = slot('batch.len', F.len);
const ID = slot('batch.id', F.id).word;
const CONN_SIZE = structs.conn.size;

/** Byte offset of every slot (c0, c1, ...) from the table, CONN_CLOSED_BATCH_SIZE of them. */
export const BATCH_SLOT_OFFSETS: readonly number[] = Object.freeze(
  Array.from({ length: CONN_CLOSED_BATCH_SIZE }, (_, i) => {
    const f = (F as Record<string, { offset: number; type: string; struct?: string } | undefined>)[`c${i}`];
    if (!f || f.type !== 'struct' || f.struct !== 'conn') throw new Error(`@tracer-bpf/decode: struct batch has no slot c${i}`);
    return f.offset;
  }),
);
const SLOT_WORDS = BATCH_SLOT_OFFSETS.map((off, i) => wordIndex(`batch.c${i}`, off));

/** A decoded struct batch: its filled slots as close records (views: see AbiRecord). */
export class Batch {
  private declare readonly w: Int32Array;
  private declare readonly i: number;
  /** Filled slots (0..CONN_CLOSED_BATCH_SIZE). */
  declare readonly len: number;
  /** The close records of the filled slots, in order. */
  declare readonly conns: Conn[];

  /** @internal Use toBatch(). */
  constructor(words: Int32Array, index: number, len: number, conns: Conn[]) {
    this.w = words;
    this.i = index;
    this.len = len;
    this.conns = conns;
  }

  get byteLength(): number {
    return BATCH_SIZE;
  }

  /** Per-CPU generation, incremented by the kernel on every full flush. */
  get id(): bigint {
    return u64(this.w[this.i + ID] as number, this.w[this.i + ID + 1] as number);
  }

  /** A copy of the batch (and of its records) that no longer reads the decoded buffer. */
  detach(): this {
    const copy = this.w.slice(this.i, this.i + BATCH_SIZE / 4);
    return new Batch(copy, 0, this.len, this.conns.map((_, k) => new Conn(copy, SLOT_WORDS[k] as number))) as this;
  }

  toObject(): { len: number; id: bigint; conns: ConnObject[] } {
    return { len: this.len, id: this.id, conns: this.conns.map((c) => c.toObject()) };
  }

  toJSON(): { len: number; id: string; conns: ReturnType<Conn['toJSON']>[] } {
    return { len: this.len, id: this.id.toString(), conns: this.conns.map((c) => c.toJSON()) };
  }
}

export interface Batch extends Omit<RecordMethods, 'detach'> {}
recordClass(Batch);

/**
 * Decode a struct batch (the seed's ToBatch) at `offset` of `buf`: a perf
 * sample of at least 592 bytes (BATCH_SIZE); trailing bytes (the perf buffer's alignment
 * padding) are ignored. `conns` holds the `len` filled slots; to resume a
 * partly consumed batch (the seed's ExtractBatchInto from an offset), slice
 * it. Throws DecodeError when the buffer is short or len is more than the
 * slots.
 */
export function toBatch(buf: Uint8Array, offset = 0): Batch {
  let i = locate('batch', buf, offset, BATCH_SIZE);
  let w: Int32Array;
  if (i >= 0) w = words();
  else {
    w = alignedCopy(buf, offset, BATCH_SIZE);
    i = 0;
  }
  const len = ((w[i + LEN.word] as number) >>> LEN.shift) & 0xffff;
  if (len > CONN_CLOSED_BATCH_SIZE) {
    throw new DecodeError(
      `decode batch: len ${len} is more than its ${CONN_CLOSED_BATCH_SIZE} slots (needs ${len * CONN_SIZE} bytes of records, the batch holds ${CONN_CLOSED_BATCH_SIZE * CONN_SIZE})`,
      { struct: 'batch', reason: 'malformed', offset, needed: len * CONN_SIZE, available: CONN_CLOSED_BATCH_SIZE * CONN_SIZE },
    );
  }
  const conns: Conn[] = new Array(len);
  for (let k = 0; k < len; k++) conns[k] = new Conn(w, i + (SLOT_WORDS[k] as number));
  return new Batch(w, i, len, conns);
}
