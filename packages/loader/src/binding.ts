// The only place the native addon is loaded, and the typed contract of its
// flat, handle-based surface. Everything else talks to `native`, which loads
// the addon on first use: importing the package (or its pure modules) needs
// no addon, no root and no kernel. Nothing here is public API.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BpfNotSupportedError } from './errors.js';
import type { BpfErrorCode } from './errno.js';
import type { GlobalSpec } from './globals.js';
import { errorFromNative } from './error-factory.js';

/** An opaque native handle (a type-tagged External). */
export type NativeHandle = { readonly __nativeHandle: unique symbol };

export interface NativeProgramDesc {
  name: string;
  section: string;
  type: number;
  typeName: string;
  autoload: boolean;
  handle: NativeHandle;
}

export interface NativeMapDesc {
  name: string;
  type: number;
  typeName: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  internal: boolean;
  /** The kernel's rules, from the addon (native/map.cc): per-CPU values, value bytes in a syscall, batch ops. */
  perCpu: boolean;
  valueBytes: number;
  batchOps: boolean;
  handle: NativeHandle;
}

/** What object_globals() reports per variable: the public GlobalSpec. */
export type NativeGlobalDesc = GlobalSpec;

export interface NativeMapInfo {
  fd: number;
  id: number;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  valueBytes: number;
}

export interface NativeLinkInfo {
  fd: number;
  kind: string;
  target: string;
  legacyEvent?: string;
  type?: number;
  id?: number;
  progId?: number;
  kprobeMissed?: bigint;
}

export interface NativeProbeResult {
  ok: boolean;
  errno?: number;
  opId: string;
  syscall?: string;
  detail?: string;
}

export interface NativeProgramInfo {
  id: number;
  runCount: bigint;
  runTimeNs: bigint;
  recursionMisses?: bigint;
}

export type ReaderCallback = (batch: Buffer, count: number, lost: number[] | undefined) => void;

export interface NativeBinding {
  libbpf_version: string;
  set_error_factory(fn: (info: NativeErrorInfo) => Error): void;
  set_log_level(level: number): void;

  object_open_file(path: string, name?: string): NativeHandle;
  object_open_buffer(image: Uint8Array, name: string): NativeHandle;
  object_close(obj: NativeHandle): void;
  object_programs(obj: NativeHandle): NativeProgramDesc[];
  object_maps(obj: NativeHandle): NativeMapDesc[];
  object_globals(obj: NativeHandle): NativeGlobalDesc[];
  object_set_global(obj: NativeHandle, section: string, offset: number, bytes: Uint8Array): void;
  object_load(obj: NativeHandle): Promise<void>;
  object_info(obj: NativeHandle): { name: string; loaded: boolean; closed: boolean; loading: boolean; links: number };

  program_set_autoload(prog: NativeHandle, autoload: boolean): void;
  program_set_attach_target(prog: NativeHandle, target: string): void;
  program_fd(prog: NativeHandle): number;
  program_attach(prog: NativeHandle): NativeHandle;
  program_attach_kprobe(prog: NativeHandle, func: string, retprobe: boolean, offset: number): NativeHandle;
  program_attach_kprobe_tracefs(
    prog: NativeHandle,
    func: string,
    retprobe: boolean,
    offset: number,
    tracefs: string,
    event: string,
    maxActive: number,
  ): NativeHandle;
  program_attach_tracepoint(prog: NativeHandle, category: string, name: string): NativeHandle;
  program_attach_raw_tracepoint(prog: NativeHandle, name: string): NativeHandle;
  program_attach_trace(prog: NativeHandle, kind: string, target: string): NativeHandle;
  program_test_run(
    prog: NativeHandle,
    ctx: Uint8Array | null,
    data: Uint8Array | null,
    repeat: number,
    cpu: number,
  ): { retval: number; duration: number };
  program_info(prog: NativeHandle): NativeProgramInfo;
  enable_stats(): number;
  link_close(link: NativeHandle): void;
  link_info(link: NativeHandle): NativeLinkInfo;

  /** The three return the map's value bytes after the change. */
  map_set_max_entries(map: NativeHandle, n: number): number;
  map_set_key_size(map: NativeHandle, n: number): number;
  map_set_value_size(map: NativeHandle, n: number): number;
  map_set_autocreate(map: NativeHandle, create: boolean): void;
  map_set_flags(map: NativeHandle, flags: number): number;
  map_info(map: NativeHandle): NativeMapInfo;
  map_lookup(map: NativeHandle, key: Uint8Array, value: Uint8Array, flags: number): boolean;
  map_update(map: NativeHandle, key: Uint8Array, value: Uint8Array, flags: number): void;
  map_delete(map: NativeHandle, key: Uint8Array): boolean;
  map_next_key(map: NativeHandle, key: Uint8Array | null, out: Uint8Array): boolean;
  map_lookup_batch(
    map: NativeHandle,
    inBatch: Uint8Array | null,
    outBatch: Uint8Array,
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
    andDelete: boolean,
    elemFlags: number,
  ): { count: number; done: boolean };
  map_update_batch(map: NativeHandle, keys: Uint8Array, values: Uint8Array, count: number, elemFlags: number): number;
  num_possible_cpus(): number;

  ring_open(map: NativeHandle, cb: ReaderCallback, maxBatchBytes?: number): NativeHandle;
  perf_open(map: NativeHandle, cb: ReaderCallback, pageCount: number): NativeHandle;
  reader_consume(reader: NativeHandle): number;
  reader_close(reader: NativeHandle): void;
  reader_ref(reader: NativeHandle, ref: boolean): void;
  reader_stats(reader: NativeHandle): { closed: boolean; lost: number; buffers?: number };

  feature_kernel_btf(): NativeProbeResult;
  feature_ringbuf(): NativeProbeResult;
  feature_batch_ops(): NativeProbeResult;
  feature_kprobe(func: string): NativeProbeResult;
  feature_kprobe_tracefs(tracefs: string): NativeProbeResult;
  feature_trace(kind: 'fentry' | 'fexit' | 'tp_btf', target: string): NativeProbeResult;
  feature_tracepoint(tracefs: string, category: string, name: string): NativeProbeResult;
  feature_raw_tracepoint(name: string): NativeProbeResult;
  memlock_limit(): number;
  link_ids(): number[];
  operations(): string[];

  socket_tcp_info(fd: number): Buffer;
  socket_ioctl(fd: number, name: 'inq' | 'outq' | 'outqnsd'): number;
  socket_setsockopt(fd: number, level: number, name: number, value: number | string): void;
  socket_send(fd: number, data: Uint8Array, flags: number): number;
  socket_recv(fd: number, buffer: Uint8Array, flags: number): number;
  socket_sendto(fd: number, data: Uint8Array, flags: number, address: string, port: number): number;
  socket_shutdown(fd: number, how: number): void;
  socket_tcp(family: number): number;
  socket_bind(fd: number, address: string, port: number): void;
  socket_connect(fd: number, address: string, port: number): void;
  socket_name(fd: number): { address: string; port: number };
  socket_udp(family: number): number;
  socket_listen(fd: number, backlog: number): void;
  socket_accept(fd: number): number;

  pages_alloc(bytes: number): ArrayBuffer;
  file_map_ro(path: string): ArrayBuffer | null;
  pages_release(view: ArrayBufferView): number;
}

/** What the addon passes to the error factory; see error-factory.ts. */
export interface NativeErrorInfo {
  /** Usage errors only (ERR_BPF_*); syscall failures carry `errno` and TS names it. */
  code?: BpfErrorCode;
  errno?: number;
  opId: string;
  syscall?: string;
  object?: string;
  program?: string;
  map?: string;
  target?: string;
  log?: string;
  /** libbpf_strerror() of the errno, or the usage error's words. */
  message?: string;
}

function load(): NativeBinding {
  if (process.platform !== 'linux') {
    throw new BpfNotSupportedError({
      feature: 'platform',
      code: 'ERR_BPF_PLATFORM',
      op: 'load native addon',
      message: `@tracer-bpf/loader runs only on Linux (eBPF); this is ${process.platform}-${process.arch}`,
    });
  }
  // The package root: src/ in the workspace, dist/ once built; both are one level down.
  const root = fileURLToPath(new URL('..', import.meta.url));
  const require = createRequire(import.meta.url);
  const override = process.env.TRACER_BPF_NATIVE_PATH;
  let binding: NativeBinding;
  try {
    if (override) binding = require(override) as NativeBinding;
    else binding = (require('node-gyp-build') as (dir: string) => unknown)(root) as NativeBinding;
  } catch (err) {
    const libc = glibcOrMusl();
    throw new BpfNotSupportedError({
      feature: 'platform',
      code: 'ERR_BPF_NO_PREBUILD',
      op: 'load native addon',
      message:
        `no usable prebuilt binary of @tracer-bpf/loader for linux-${process.arch} (${libc}, node ${process.version}, ` +
        `Node-API ${process.versions.napi}): prebuilds ship for linux-x64 glibc >= 2.31 (${(err as Error).message})`,
      cause: err,
    });
  }
  binding.set_error_factory(errorFromNative);
  return binding;
}

function glibcOrMusl(): string {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'musl or another libc';
}

let loaded: NativeBinding | undefined;

/** The addon, loaded on first use. */
export const native: NativeBinding = new Proxy({} as NativeBinding, {
  get(_target, key) {
    loaded ??= load();
    return loaded[key as keyof NativeBinding];
  },
});
