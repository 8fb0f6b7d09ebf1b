// A map of a BpfObject: element operations, key iteration, and whole-map
// reads with BPF_MAP_LOOKUP_BATCH into caller-owned buffers, falling back to
// key iteration (forced with `method: 'iterate'`).
import { native, type NativeHandle, type NativeMapDesc } from './binding.js';
import { BpfError, BpfNotSupportedError } from './errors.js';
import { probeFeature } from './features.js';
import { type Init, readInit } from './init.js';
import { type ArgContext, argError, boolean, bytes, integer, oneOf, options, positive } from './validate.js';

export type UpdateFlag = 'any' | 'noexist' | 'exist';
const UPDATE_FLAGS: Record<UpdateFlag, number> = { any: 0, noexist: 1, exist: 2 };
const UPDATE_FLAG_NAMES = Object.keys(UPDATE_FLAGS) as UpdateFlag[];

export type ReadMethod = 'auto' | 'batch' | 'iterate';
const READ_METHODS: readonly ReadMethod[] = ['auto', 'batch', 'iterate'];

export interface ReadAllOptions {
  /** 'auto' (batch when the kernel has it), or force one method. */
  method?: ReadMethod;
  /** Elements per BPF_MAP_LOOKUP_BATCH call: a positive integer (default 4096). */
  batchSize?: number;
  /** Delete what was read (BPF_MAP_LOOKUP_AND_DELETE_BATCH, or lookup + delete). */
  delete?: boolean;
  /** Reuse these buffers when they are big enough. */
  keys?: Buffer;
  values?: Buffer;
}
const READ_ALL_KEYS = ['method', 'batchSize', 'delete', 'keys', 'values'];

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

/** The position of a sequence of lookupBatch() calls (from newBatchCursor()). */
export interface BatchCursor {
  readonly started: boolean;
}

/** The one batch cursor: the kernel's in/out position keys (at least 8 bytes). */
class Cursor implements BatchCursor {
  readonly in: Buffer;
  readonly out: Buffer;
  started = false;
  constructor(keySize: number) {
    const size = Math.max(keySize, 8);
    this.in = Buffer.alloc(size);
    this.out = Buffer.alloc(size);
  }
  /** The `in` argument of the next call (null for the first). */
  get next(): Buffer | null {
    return this.started ? this.in : null;
  }
  advance(): void {
    this.out.copy(this.in);
    this.started = true;
  }
  reset(): this {
    this.started = false;
    return this;
  }
}

const handles = new WeakMap<BpfMap, NativeHandle>();

/** The native handle of a map (for the readers; not public API). */
export function handleOf(map: BpfMap): NativeHandle {
  return handles.get(map) as NativeHandle;
}

export interface MapOwner {
  readonly name: string;
  readonly closed: boolean;
}

/** BPF_MAP_CREATE flag: a hash map allocates its elements as they are added, not all at creation (see BpfMap.setFlags). */
export const BPF_F_NO_PREALLOC = 1;

export class BpfMap {
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  #flags: number;
  /** libbpf's own maps for .rodata/.data/.bss/.kconfig. */
  readonly internal: boolean;
  readonly perCpu: boolean;
  readonly owner: MapOwner;
  #keySize: number;
  #valueSize: number;
  #valueBytes: number;
  #maxEntries: number;
  readonly #batchOps: boolean;
  readonly #handle: NativeHandle;
  #cursor: Cursor | undefined;

  /** Maps come from BpfObject.open(). */
  constructor(init: Init<'BpfMap'>) {
    const { desc, owner } = readInit<{ desc: NativeMapDesc; owner: MapOwner }>(init);
    this.name = desc.name;
    this.type = desc.type;
    this.typeName = desc.typeName;
    this.#keySize = desc.keySize;
    this.#valueSize = desc.valueSize;
    this.#valueBytes = desc.valueBytes;
    this.#flags = desc.flags;
    this.internal = desc.internal;
    this.perCpu = desc.perCpu;
    this.#batchOps = desc.batchOps;
    this.#maxEntries = desc.maxEntries;
    this.#handle = desc.handle;
    this.owner = owner;
    handles.set(this, desc.handle);
  }

  /** BPF_MAP_CREATE's map_flags (BPF_F_NO_PREALLOC, ...): as the object declares them, or as setFlags() made them. */
  get flags(): number {
    return this.#flags;
  }

  get keySize(): number {
    return this.#keySize;
  }

  get valueSize(): number {
    return this.#valueSize;
  }

  get maxEntries(): number {
    return this.#maxEntries;
  }

  /** Bytes of one value as lookup/update move it: per-CPU maps hold one 8-byte aligned slot per possible CPU. */
  get valueBytes(): number {
    return this.#valueBytes;
  }

  /** Before load: the number of elements (a positive u32). */
  setMaxEntries(n: number): this {
    this.#valueBytes = native.map_set_max_entries(this.#handle, positive(this.#ctx('set max entries'), 'n', n));
    this.#maxEntries = n;
    return this;
  }

  /** Before load: the key size in bytes, for maps sized at run time (the map must not have a BTF key type of another size). */
  setKeySize(size: number): this {
    this.#valueBytes = native.map_set_key_size(this.#handle, positive(this.#ctx('set key size'), 'size', size));
    this.#keySize = size;
    this.#cursor = undefined;
    return this;
  }

  /** Before load: the value size in bytes (stack trace maps: depth * 8), for maps sized at run time. */
  setValueSize(size: number): this {
    this.#valueBytes = native.map_set_value_size(this.#handle, positive(this.#ctx('set value size'), 'size', size));
    this.#valueSize = size;
    return this;
  }

  /**
   * Before load: the map's BPF_MAP_CREATE flags, all of them (read `flags`
   * and add or clear bits, e.g. `m.setFlags(m.flags | BPF_F_NO_PREALLOC)`).
   * The kernel checks them at load: a flag it does not allow for the map's
   * type (or, for BPF_F_NO_PREALLOC before 6.1, for the programs using the
   * map) fails load() with that error.
   */
  setFlags(flags: number): this {
    native.map_set_flags(this.#handle, integer(this.#ctx('set map flags'), 'flags', flags));
    this.#flags = flags;
    return this;
  }

  /** Before load: do not create this map (its programs must not be loaded either). */
  setAutocreate(create: boolean): this {
    native.map_set_autocreate(this.#handle, boolean(this.#ctx('set autocreate'), 'create', create));
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
    if (out !== undefined) this.#checkValue(out, 'lookup', 'out');
    return native.map_lookup(this.#handle, key, value, 0) ? value : undefined;
  }

  update(key: Uint8Array, value: Uint8Array, flag: UpdateFlag = 'any'): void {
    this.#checkKey(key, 'update');
    this.#checkValue(value, 'update');
    native.map_update(this.#handle, key, value, UPDATE_FLAGS[oneOf(this.#ctx('update'), 'flag', flag, UPDATE_FLAG_NAMES)]);
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
    const slot = this.valueBytes / possibleCpus();
    const out: Buffer[] = [];
    for (let off = 0; off + slot <= value.length; off += slot) out.push(value.subarray(off, off + this.valueSize));
    return out;
  }

  /**
   * One BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH) call: up to `count`
   * elements into `keys`/`values`. Pass the same `cursor` (from
   * newBatchCursor()) to continue; `done` when the map has no more.
   */
  lookupBatch(
    cursor: BatchCursor,
    keys: Buffer,
    values: Buffer,
    count: number,
    opts?: { delete?: boolean },
  ): { count: number; done: boolean } {
    const ctx = this.#ctx('lookup batch');
    if (!(cursor instanceof Cursor) || cursor.in.length !== Math.max(this.keySize, 8)) {
      argError(ctx, 'cursor', `expected a cursor from this map's newBatchCursor()`);
    }
    bytes(ctx, 'keys', keys);
    bytes(ctx, 'values', values);
    positive(ctx, 'count', count);
    const o = options<{ delete: boolean }>(ctx, 'opts', opts, ['delete']);
    const del = o.delete === undefined ? false : boolean(ctx, 'delete', o.delete);
    const r = native.map_lookup_batch(this.#handle, cursor.next, cursor.out, keys, values, count, del, 0);
    cursor.advance();
    return r;
  }

  newBatchCursor(): BatchCursor {
    return new Cursor(this.keySize);
  }

  /** Insert or update `count` elements in one BPF_MAP_UPDATE_BATCH call. */
  updateBatch(keys: Uint8Array, values: Uint8Array, count: number, flag: UpdateFlag = 'any'): number {
    const ctx = this.#ctx('update batch');
    bytes(ctx, 'keys', keys);
    bytes(ctx, 'values', values);
    positive(ctx, 'count', count);
    return native.map_update_batch(this.#handle, keys, values, count, UPDATE_FLAGS[oneOf(ctx, 'flag', flag, UPDATE_FLAG_NAMES)]);
  }

  /** Read every element. */
  readAll(opts?: ReadAllOptions): MapDump {
    const ctx = this.#ctx('read map');
    const o = options<ReadAllOptions>(ctx, 'opts', opts, READ_ALL_KEYS);
    const method = o.method === undefined ? 'auto' : oneOf(ctx, 'method', o.method, READ_METHODS);
    const checked: ReadAllOptions = {
      batchSize: o.batchSize === undefined ? 4096 : positive(ctx, 'batchSize', o.batchSize),
      delete: o.delete === undefined ? false : boolean(ctx, 'delete', o.delete),
    };
    if (o.keys !== undefined) checked.keys = bytes(ctx, 'keys', o.keys) as Buffer;
    if (o.values !== undefined) checked.values = bytes(ctx, 'values', o.values) as Buffer;
    if (method === 'batch' && !this.#batchOps) {
      throw new BpfNotSupportedError({
        feature: 'batchOps',
        code: 'EOPNOTSUPP',
        op: 'read map',
        map: this.name,
        object: this.owner.name,
        hint: `${this.typeName} maps have no batch lookup`,
      });
    }
    const useBatch = method === 'batch' || (method === 'auto' && this.#batchOps && probeFeature('batchOps').supported);
    return useBatch ? this.#readBatch(checked) : this.#readIterate(checked);
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
    let batch = opts.batchSize as number;
    const ks = this.keySize;
    const vs = this.valueBytes;
    const b = this.#buffers(opts, Math.max(this.#maxEntries, 1));
    const cursor = (this.#cursor ??= new Cursor(ks)).reset();
    let count = 0;
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
          cursor.next,
          cursor.out,
          b.keys.subarray(count * ks),
          b.values.subarray(count * vs),
          want,
          opts.delete as boolean,
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
      cursor.advance();
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
    const ctx = this.#ctx(op);
    bytes(ctx, 'key', key);
    if (key.length !== this.keySize) argError(ctx, 'key', `the key is ${key.length} bytes; map ${this.name} has ${this.keySize}-byte keys`);
  }

  #checkValue(value: Uint8Array, op: string, argument = 'value'): void {
    const ctx = this.#ctx(op);
    bytes(ctx, argument, value);
    const want = this.valueBytes;
    if (value.length !== want) {
      const per = this.perCpu ? ` (${possibleCpus()} possible CPUs x ${want / possibleCpus()} bytes)` : '';
      argError(ctx, argument, `the value is ${value.length} bytes; map ${this.name} needs ${want}${per}`);
    }
  }

  #ctx(op: string): ArgContext {
    return { op: `map ${op}`, map: this.name, object: this.owner.name };
  }
}

let cpus: number | undefined;
export function possibleCpus(): number {
  return (cpus ??= native.num_possible_cpus());
}
