// A BpfObject: one ELF object opened with libbpf. Before load: set globals,
// size maps, choose programs. load() runs on the thread pool. Closing the
// object closes its links and readers; so does garbage collection.
import { type Stats, statSync } from 'node:fs';
import { readCapabilities } from './capabilities.js';
import { native, type NativeHandle } from './binding.js';
import { BpfArgumentError, BpfClosedError, BpfError, BpfNotSupportedError, BpfStateError } from './errors.js';
import { probeFeature } from './features.js';
import { encodeGlobal, type GlobalSpec, type GlobalValue } from './globals.js';
import { makeInit } from './init.js';
import type { Link } from './link.js';
import { BpfMap, type MapOwner } from './map.js';
import { BpfProgram, type ProgramOwner } from './program.js';
import { PerfBufferReader, type PerfBufferOptions, type ReaderOwner, RingBufferReader, type RingBufferOptions } from './readers.js';
import { argError, options, text } from './validate.js';

export interface OpenOptions {
  /** Object name (defaults to the file name; for Buffers: "bpf_object"). */
  name?: string;
}

/** What attachAll() did, program by program (it tries every one). */
export interface AttachReport {
  /** Programs attached, with their links. */
  attached: Array<{ program: BpfProgram; link: Link }>;
  /** Programs that did not attach, with the error that says why. */
  failed: Array<{ program: BpfProgram; error: BpfError }>;
  /** The links of `attached`, in program order. */
  links: Link[];
  /** true when every program attached. */
  ok: boolean;
}

const TRACING_KINDS = new Set(['fentry', 'fexit', 'fmod_ret']);

export class BpfObject implements Disposable {
  readonly name: string;
  readonly programs: ReadonlyMap<string, BpfProgram>;
  readonly maps: ReadonlyMap<string, BpfMap>;
  readonly #handle: NativeHandle;
  readonly #links = new Set<Link>();
  readonly #readers = new Set<{ close(): void }>();
  #globals: Map<string, GlobalSpec> | undefined;
  #state: 'opened' | 'loading' | 'loaded' | 'closed' = 'opened';
  readonly #ownerView: ProgramOwner & MapOwner & ReaderOwner;

  /** Open an ELF object from a path or from its bytes (nothing is loaded into the kernel yet). */
  static open(source: string | Uint8Array, opts?: OpenOptions): BpfObject {
    const ctx = { op: 'open object' };
    const o = options<OpenOptions>(ctx, 'opts', opts, ['name']);
    const name = o.name === undefined ? undefined : text(ctx, 'name', o.name);
    if (source instanceof Uint8Array) return new BpfObject(native.object_open_buffer(source, name ?? 'bpf_object'));
    if (typeof source !== 'string') argError(ctx, 'source', 'expected a file path or a Buffer holding the ELF image');
    const path = text(ctx, 'path', source);
    // Only a regular file: libbpf would block forever on a FIFO (and read a device).
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && !st.isFile()) {
      throw new BpfArgumentError({ code: 'ERR_BPF_ARG', ...ctx, object: path, argument: 'path', message: `path: ${path} is not a regular file (${fileKind(st)})` });
    }
    return new BpfObject(native.object_open_file(path, name));
  }

  private constructor(handle: NativeHandle) {
    this.#handle = handle;
    this.name = native.object_info(handle).name;
    this.#ownerView = this.#makeOwner();
    this.programs = new Map(native.object_programs(handle).map((desc) => [desc.name, new BpfProgram(makeInit({ desc, owner: this.#ownerView }))]));
    this.maps = new Map(native.object_maps(handle).map((desc) => [desc.name, new BpfMap(makeInit({ desc, owner: this.#ownerView }))]));
  }

  get loaded(): boolean {
    return this.#state === 'loaded';
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  program(name: string): BpfProgram {
    const p = this.programs.get(name);
    if (!p) this.#unknown('program', name, [...this.programs.keys()]);
    return p;
  }

  /**
   * A map by name. libbpf's own maps of the data sections are named after the
   * object (`loader_t.rodata`); they are also found by section: map('.rodata').
   */
  map(name: string): BpfMap {
    const m = this.maps.get(name) ?? (name.startsWith('.') ? [...this.maps.values()].find((x) => x.internal && sectionOf(x.name) === name) : undefined);
    if (!m) this.#unknown('map', name, [...this.maps.keys()]);
    return m;
  }

  /** Global variables (from BTF), by name. */
  globals(): ReadonlyMap<string, GlobalSpec> {
    this.#check('read globals');
    this.#globals ??= new Map(native.object_globals(this.#handle).map((g) => [g.name, g]));
    return this.#globals;
  }

  /** Set a global (a `const volatile` in .rodata, or .data/.bss) before load; type- and size-checked. */
  setGlobal(name: string, value: GlobalValue): this {
    this.#check('set global');
    if (this.#state !== 'opened') {
      throw new BpfStateError({ code: 'ERR_BPF_LOADED', op: 'set global', target: name, object: this.name, message: 'globals can only be set before load()' });
    }
    const g = this.globals().get(name);
    if (!g) this.#unknown('global', name, [...this.globals().keys()]);
    native.object_set_global(this.#handle, g.section, g.offset, encodeGlobal(g, this.name, value));
    return this;
  }

  setGlobals(values: Record<string, GlobalValue>): this {
    for (const [k, v] of Object.entries(values)) this.setGlobal(k, v);
    return this;
  }

  /** Load maps and programs into the kernel, off the main thread. Rejects with the verifier log on failure. */
  async load(): Promise<void> {
    this.#check('load');
    if (this.#state !== 'opened') {
      throw new BpfStateError({ code: 'ERR_BPF_LOADED', op: 'load', object: this.name, message: `the object is already ${this.#state}` });
    }
    this.#state = 'loading';
    try {
      await native.object_load(this.#handle);
    } catch (err) {
      if (this.#state === 'loading') this.#state = 'opened';
      throw this.#explainLoadError(err);
    }
    if (this.#state === 'loading') this.#state = 'loaded';
  }

  /**
   * Attach every loaded program as its section says. Tries them all: what
   * attached and what did not (and why) is in the report; the links belong to
   * the object. Throws only for misuse (not loaded, closed).
   */
  attachAll(): AttachReport {
    if (this.#state !== 'loaded') {
      this.#check('attach all');
      throw new BpfStateError({ code: 'ERR_BPF_NOT_LOADED', op: 'attach all', object: this.name, message: 'the object is not loaded yet: call load() first' });
    }
    const report: AttachReport = { attached: [], failed: [], links: [], ok: true };
    for (const program of this.programs.values()) {
      if (!program.autoload) continue;
      try {
        const link = program.attach();
        report.attached.push({ program, link });
        report.links.push(link);
      } catch (err) {
        if (!(err instanceof BpfError)) throw err;
        report.failed.push({ program, error: err });
        report.ok = false;
      }
    }
    return report;
  }

  /** Read a BPF_MAP_TYPE_RINGBUF map. A referenced reader keeps this object alive until it is closed (see RingBufferReader.unref()). */
  openRingBuffer(map: string, onRecords: (records: Buffer[]) => void, opts?: RingBufferOptions): RingBufferReader {
    return new RingBufferReader(makeInit({ map: this.map(map), owner: this.#ownerView, onRecords, opts }));
  }

  /** Read a BPF_MAP_TYPE_PERF_EVENT_ARRAY map. A referenced reader keeps this object alive until it is closed (see unref()). */
  openPerfBuffer(map: string, onRecords: (records: Buffer[], cpus: number[]) => void, opts?: PerfBufferOptions): PerfBufferReader {
    return new PerfBufferReader(makeInit({ map: this.map(map), owner: this.#ownerView, onRecords, opts }));
  }

  /** Links attached through this object and still open. */
  get links(): readonly Link[] {
    return [...this.#links].filter((l) => !l.closed);
  }

  /** Release everything: readers, links, programs and maps. Safe during load() (which then rejects). */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const r of [...this.#readers]) r.close();
    this.#readers.clear();
    native.object_close(this.#handle);
    this.#links.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** What programs, maps, links and readers see of this object (one view, made once). */
  #makeOwner(): ProgramOwner & MapOwner & ReaderOwner {
    const self = this;
    return {
      get name() {
        return self.name;
      },
      get closed() {
        return self.closed;
      },
      adopt(link: Link): Link {
        self.#links.add(link);
        return link;
      },
      track(r: { close(): void }) {
        self.#readers.add(r);
      },
      untrack(r: { close(): void }) {
        self.#readers.delete(r);
      },
    };
  }

  #check(op: string): void {
    if (this.#state === 'closed') {
      throw new BpfClosedError({ code: 'ERR_BPF_CLOSED', op, object: this.name, message: 'the object is closed' });
    }
  }

  #unknown(what: string, name: string, known: string[]): never {
    throw new BpfArgumentError({
      code: 'ERR_BPF_ARG',
      op: `find ${what}`,
      target: name,
      object: this.name,
      message: `no ${what} named ${name} (there are: ${known.join(', ') || 'none'})`,
    });
  }

  // The kernel said EPERM although this process has every capability: say
  // what the kernel refused and what can run instead; mention memlock only
  // when the limit is really finite.
  #explainLoadError(err: unknown): unknown {
    if (!(err instanceof BpfError) || err.name !== 'BpfError') return err;
    if (err.code === 'EINVAL' && err.syscall === 'BPF_MAP_CREATE' && err.map) return this.#explainMapSize(err, err.map);
    if (err.code !== 'EPERM' || !readCapabilities().tracing) return err;
    const prog = err.program ? this.programs.get(err.program) : undefined;
    const base = {
      code: err.code,
      errno: err.errno ?? 1,
      op: err.op,
      object: this.name,
      ...(err.program !== undefined && { program: err.program }),
      ...(err.syscall !== undefined && { syscall: err.syscall }),
      ...(err.log !== undefined && { log: err.log }),
      cause: err,
    };
    if (prog && TRACING_KINDS.has(prog.spec.kind)) {
      // When the probe confirms the kernel refuses fentry, every fentry/fexit
      // program of the object would fail the same way: name them all at once.
      const refused = !probeFeature('fentry').supported;
      const programs = refused
        ? [...this.programs.values()].filter((p) => p.autoload && TRACING_KINDS.has(p.spec.kind)).map((p) => p.name)
        : [prog.name];
      return new BpfNotSupportedError({
        ...base,
        feature: 'fentry',
        programs,
        hint:
          `the kernel refused the ${prog.spec.kind} program although this process has CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN: ` +
          `this kernel does not allow fentry/fexit; run the kprobe or tracepoint backend instead (setAutoload(false) on ${programs.join(', ')})`,
      });
    }
    const memlock = native.memlock_limit();
    const memlockNote =
      memlock >= 0 ? `; RLIMIT_MEMLOCK is ${memlock} bytes, which kernels before 5.11 charge BPF memory to` : '';
    return new BpfNotSupportedError({
      ...base,
      feature: prog ? prog.typeName : 'bpf',
      hint: `the kernel refused it although this process has CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (lockdown or a security module?)${memlockNote}`,
    });
  }

  // EINVAL creating a map that was never given a size: say which and how.
  #explainMapSize(err: BpfError, name: string): BpfError {
    const m = this.maps.get(name);
    if (!m) return err;
    const unset = [m.keySize === 0 && 'key size', m.valueSize === 0 && 'value size', m.maxEntries === 0 && 'max entries'].filter(Boolean);
    if (unset.length === 0) return err;
    const setters = unset.map((u) => `${u === 'key size' ? 'setKeySize' : u === 'value size' ? 'setValueSize' : 'setMaxEntries'}()`);
    return new BpfArgumentError({
      code: err.code,
      errno: err.errno ?? 22,
      op: err.op,
      object: this.name,
      map: name,
      ...(err.syscall !== undefined && { syscall: err.syscall }),
      ...(err.log !== undefined && { log: err.log }),
      cause: err,
      hint:
        `map ${name} has no ${unset.join(' and no ')}: the program expects them to be set at run time ` +
        `(as stack trace maps are): call map('${name}').${setters.join(' and ')} before load()`,
    });
  }
}

/** The data section of one of libbpf's internal maps (`loader_t.rodata` -> `.rodata`). */
function sectionOf(mapName: string): string {
  const dot = mapName.indexOf('.');
  return dot < 0 ? mapName : mapName.slice(dot);
}

function fileKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}
