// A map of a BpfObject: element operations, key iteration, and whole-map
// reads with BPF_MAP_LOOKUP_BATCH into caller-owned buffers, falling back to
// key iteration (forced with `method: 'iterate'`).
import { native, type NativeHandle, type NativeMapDesc } from './binding.js';
import { BpfArgumentError, BpfError, BpfNotSupportedError } from './errors.js';
import { probeFeature } from './features.js';

export type UpdateFlag = 'any' | 'noexist' | 'exist';
const UPDATE_FLAGS: Record<UpdateFlag, number> = { any: 0, noexist: 1, exist: 2 };

export type ReadMethod = 'auto' | 'batch' | 'iterate';

export interface ReadAllOptions {
  /** 'auto' (batch when the kernel has it), or force one method. */
  method?: ReadMethod;
  /** Elements per BPF_MAP_LOOKUP_BATCH call (default 4096). */
  batchSize?: number;
  /** Delete what was read (BPF_MAP_LOOKUP_AND_DELETE_BATCH, or lookup + delete). */
  delete?: boolean;
  /** Reuse these buffers when they are big enough. */
  keys?: Buffer;
  values?: Buffer;
}

export interface MapDump {
  count: number;
  /** count * keySize bytes (views into the buffers used). */
  keys: Buffer;
  /** count * valueBytes bytes. */
  values: Buffer;
  method: 'batch' | 'iterate';
}

export interface MapInfo {
  id: number;
  fd: number;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

const PERCPU_TYPES = new Set([5 /* PERCPU_HASH */, 6 /* PERCPU_ARRAY */, 10 /* LRU_PERCPU_HASH */, 21 /* PERCPU_CGROUP_STORAGE */]);

export interface MapOwner {
  readonly name: string;
  readonly closed: boolean;
}

export class BpfMap {
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly flags: number;
  /** libbpf's own maps for .rodata/.data/.bss/.kconfig. */
  readonly internal: boolean;
  readonly perCpu: boolean;
  readonly owner: MapOwner;
  #maxEntries: number;
  readonly #handle: NativeHandle;
  #cursor: Buffer | undefined;

  /** @internal */
  constructor(desc: NativeMapDesc, owner: MapOwner) {
    this.name = desc.name;
    this.type = desc.type;
    this.typeName = desc.typeName;
    this.keySize = desc.keySize;
    this.valueSize = desc.valueSize;
    this.flags = desc.flags;
    this.internal = desc.internal;
    this.perCpu = PERCPU_TYPES.has(desc.type);
    this.#maxEntries = desc.maxEntries;
    this.#handle = desc.handle;
    this.owner = owner;
  }

  /** @internal */
  get handle(): NativeHandle {
    return this.#handle;
  }

  get maxEntries(): number {
    return this.#maxEntries;
  }

  /** Bytes of one value as lookup/update move it: per-CPU maps hold one 8-byte aligned slot per possible CPU. */
  get valueBytes(): number {
    return this.perCpu ? Math.ceil(this.valueSize / 8) * 8 * possibleCpus() : this.valueSize;
  }

  setMaxEntries(n: number): this {
    if (!Number.isInteger(n) || n <= 0) this.#argError('set max entries', `max entries must be a positive integer, got ${n}`);
    native.map_set_max_entries(this.#handle, n);
    this.#maxEntries = n;
    return this;
  }

  /** Do not create this map at load (its programs must not be loaded either). */
  setAutocreate(create: boolean): this {
    native.map_set_autocreate(this.#handle, create);
    return this;
  }

  info(): MapInfo {
    const i = native.map_info(this.#handle);
    return { id: i.id, fd: i.fd, type: i.type, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.flags };
  }

  /** The value stored under `key`, or undefined. `out` (valueBytes long) is filled and returned when given. */
  lookup(key: Uint8Array, out?: Buffer): Buffer | undefined {
    this.#checkKey(key, 'lookup');
    const value = out ?? Buffer.allocUnsafe(this.valueBytes);
    if (out) this.#checkValue(out, 'lookup');
    return native.map_lookup(this.#handle, key, value, 0) ? value : undefined;
  }

  update(key: Uint8Array, value: Uint8Array, flag: UpdateFlag = 'any'): void {
    this.#checkKey(key, 'update');
    this.#checkValue(value, 'update');
    native.map_update(this.#handle, key, value, UPDATE_FLAGS[flag]);
  }

  /** true when the key was there. */
  delete(key: Uint8Array): boolean {
    this.#checkKey(key, 'delete');
    return native.map_delete(this.#handle, key);
  }

  /** Keys in the kernel's order. Concurrent deletes can make a hash map restart the walk. */
  *keys(): Generator<Buffer> {
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.allocUnsafe(this.keySize);
      if (!native.map_next_key(this.#handle, prev, next)) return;
      yield next;
      prev = next;
    }
  }

  *entries(): Generator<[Buffer, Buffer]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v) yield [k, v];
    }
  }

  /** Split a per-CPU value into one Buffer per possible CPU. */
  perCpuValues(value: Buffer): Buffer[] {
    const slot = Math.ceil(this.valueSize / 8) * 8;
    const out: Buffer[] = [];
    for (let off = 0; off + slot <= value.length; off += slot) out.push(value.subarray(off, off + this.valueSize));
    return out;
  }

  /**
   * One BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH) call: up to `count`
   * elements into `keys`/`values`. Pass the same `cursor` (a Buffer from
   * newBatchCursor()) to continue; `done` when the map has no more.
   */
  lookupBatch(
    cursor: BatchCursor,
    keys: Buffer,
    values: Buffer,
    count: number,
    opts: { delete?: boolean } = {},
  ): { count: number; done: boolean } {
    const r = native.map_lookup_batch(
      this.#handle,
      cursor.started ? cursor.in : null,
      cursor.out,
      keys,
      values,
      count,
      opts.delete ?? false,
      0,
    );
    cursor.advance();
    return r;
  }

  newBatchCursor(): BatchCursor {
    return new BatchCursor(Math.max(this.keySize, 8));
  }

  /** Insert or update `count` elements in one BPF_MAP_UPDATE_BATCH call. */
  updateBatch(keys: Uint8Array, values: Uint8Array, count: number, flag: UpdateFlag = 'any'): number {
    return native.map_update_batch(this.#handle, keys, values, count, UPDATE_FLAGS[flag]);
  }

  /** Read every element. */
  readAll(opts: ReadAllOptions = {}): MapDump {
    const method = opts.method ?? 'auto';
    const useBatch = method === 'batch' || (method === 'auto' && probeFeature('batchOps').supported && !this.#noBatch());
    if (method === 'batch' && this.#noBatch()) {
      throw new BpfNotSupportedError({
        feature: 'batchOps',
        code: 'EOPNOTSUPP',
        op: 'read map',
        map: this.name,
        object: this.owner.name,
        hint: `${this.typeName} maps have no batch lookup`,
      });
    }
    return useBatch ? this.#readBatch(opts) : this.#readIterate(opts);
  }

  #noBatch(): boolean {
    // Batch ops exist for hash and array maps (and their per-CPU / LRU forms).
    return ![1, 2, 5, 6, 9, 10].includes(this.type);
  }

  /** The caller's buffers when they hold at least `capacity` elements, else fresh ones. */
  #buffers(opts: ReadAllOptions, capacity: number): { keys: Buffer; values: Buffer; capacity: number } {
    const ks = this.keySize;
    const vs = this.valueBytes;
    const keys = opts.keys && opts.keys.length >= capacity * ks ? opts.keys : Buffer.allocUnsafe(capacity * ks);
    const values = opts.values && opts.values.length >= capacity * vs ? opts.values : Buffer.allocUnsafe(capacity * vs);
    return { keys, values, capacity: Math.min(Math.floor(keys.length / ks), Math.floor(values.length / vs)) };
  }

  #grow(b: { keys: Buffer; values: Buffer; capacity: number }, count: number): void {
    const g = this.#buffers({}, b.capacity * 2);
    b.keys.copy(g.keys, 0, 0, count * this.keySize);
    b.values.copy(g.values, 0, 0, count * this.valueBytes);
    Object.assign(b, g);
  }

  #readBatch(opts: ReadAllOptions): MapDump {
    let batch = opts.batchSize ?? 4096;
    const ks = this.keySize;
    const vs = this.valueBytes;
    const b = this.#buffers(opts, Math.max(this.#maxEntries, 1));
    const cursor = (this.#cursor ??= Buffer.alloc(Math.max(ks, 8) * 2));
    const inB = cursor.subarray(0, cursor.length / 2);
    const outB = cursor.subarray(cursor.length / 2);
    let count = 0;
    let started = false;
    for (;;) {
      if (count === b.capacity) {
        // Batch maps hold at most max_entries: having read that many, we are done.
        if (count >= this.#maxEntries) break;
        this.#grow(b, count);
      }
      const want = Math.min(batch, b.capacity - count);
      let r: { count: number; done: boolean };
      try {
        r = native.map_lookup_batch(
          this.#handle,
          started ? inB : null,
          outB,
          b.keys.subarray(count * ks),
          b.values.subarray(count * vs),
          want,
          opts.delete ?? false,
          0,
        );
      } catch (err) {
        // ENOSPC: the next hash bucket holds more elements than `want`.
        if (err instanceof BpfError && err.code === 'ENOSPC' && want < 1 << 20) {
          if (want < batch) this.#grow(b, count);
          else batch *= 2;
          continue;
        }
        throw err;
      }
      count += r.count;
      if (r.done) break;
      outB.copy(inB);
      started = true;
    }
    return { count, keys: b.keys.subarray(0, count * ks), values: b.values.subarray(0, count * vs), method: 'batch' };
  }

  #readIterate(opts: ReadAllOptions): MapDump {
    const ks = this.keySize;
    const vs = this.valueBytes;
    const b = this.#buffers(opts, Math.max(this.#maxEntries, 1));
    const next = Buffer.allocUnsafe(ks);
    const del = opts.delete ?? false;
    let count = 0;
    let prev: Buffer | null = null;
    // When deleting, always restart from the first key (the previous one is gone).
    while (native.map_next_key(this.#handle, del ? null : prev, next)) {
      if (count === b.capacity) this.#grow(b, count);
      const k = b.keys.subarray(count * ks, (count + 1) * ks);
      next.copy(k);
      prev = k;
      if (!native.map_lookup(this.#handle, k, b.values.subarray(count * vs, (count + 1) * vs), 0)) continue; // deleted meanwhile
      if (del) native.map_delete(this.#handle, k);
      count++;
    }
    return { count, keys: b.keys.subarray(0, count * ks), values: b.values.subarray(0, count * vs), method: 'iterate' };
  }

  #checkKey(key: Uint8Array, op: string): void {
    if (!(key instanceof Uint8Array)) this.#argError(op, `the key must be a Buffer or Uint8Array`);
    if (key.length !== this.keySize) this.#argError(op, `the key is ${key.length} bytes; map ${this.name} has ${this.keySize}-byte keys`);
  }

  #checkValue(value: Uint8Array, op: string): void {
    if (!(value instanceof Uint8Array)) this.#argError(op, `the value must be a Buffer or Uint8Array`);
    const want = this.valueBytes;
    if (value.length !== want) {
      const per = this.perCpu ? ` (${possibleCpus()} possible CPUs x ${Math.ceil(this.valueSize / 8) * 8} bytes)` : '';
      this.#argError(op, `the value is ${value.length} bytes; map ${this.name} needs ${want}${per}`);
    }
  }

  #argError(op: string, message: string): never {
    throw new BpfArgumentError({ code: 'ERR_BPF_ARG', op: `map ${op}`, map: this.name, object: this.owner.name, message });
  }
}

/** The in/out position of a sequence of lookupBatch() calls. */
export class BatchCursor {
  readonly in: Buffer;
  readonly out: Buffer;
  started = false;
  constructor(size: number) {
    this.in = Buffer.alloc(size);
    this.out = Buffer.alloc(size);
  }
  /** @internal */
  advance(): void {
    this.out.copy(this.in);
    this.started = true;
  }
}

let cpus: number | undefined;
export function possibleCpus(): number {
  return (cpus ??= native.num_possible_cpus());
}
