// @tracer-bpf/tracer: load the tracer's eBPF programs for one backend, poll
// the per-connection maps, and receive close records.
import { existsSync } from 'node:fs';
import { release, version } from 'node:os';
import { objects } from '@tracer-bpf/bpf';
import { BPF_F_NO_PREALLOC, BpfError, featureTurnedOff, findTracefs, BpfObject, BpfVerifierError, type Link, probeFeature, removeStaleProbeEvents } from '@tracer-bpf/loader';
import { abi, ConnCloseReason, CONN_STATS_SIZE, CONN_TUPLE_SIZE, TELEMETRY_SIZE, decodeConnStats, decodeTuple, encodePortBinding, IpProtocol, sumTelemetry, type Telemetry } from '@tracer-bpf/decode';
import type { Btf } from '@tracer-bpf/btf';
import { HOOK_FIELDS, offsetsFromBtf, type OffsetSource, readKernelBtf, resolveOffsets, type SockOffsets } from '@tracer-bpf/offsetguess';
import { type Backend, type BackendName, BACKENDS, backendByName, UDP_PEER_PROGRAMS } from './backends.js';
import { checkHookNames, type HookInfo, type HookPlan, planHooks } from './hooks.js';
import { Clients, type ClientStats } from './clients.js';
import { ClosedReader } from './closed-reader.js';
import { MapScanner } from './map-scan.js';
import { ProcessNames } from './process-names.js';
import { type ClosedRow, ConnectionList, type ConnectionView, REC, ROW, RowStore, rowFromFlow, rowFromRecord, rowSocket, W_PID, wordsOf, writeRow } from './rows.js';
import { TracerError } from './errors.js';
import { cancelProtPrefetch, classicProbeUsable, classicTracepointGlobals, type Globals, offsetGlobals, pidNamespaceGlobals, prefetchProtGlobals, protGlobals, syscallGlobals } from './globals.js';
import type { KernelReads, TracerOptions, Transport } from './options.js';
import { listeningPorts, netnsRepresentatives } from './ports.js';
import { socketTables, tableKey } from './tcp-idle.js';
import { defaultUdpTimeouts, monotonicNs, type UdpTimeouts } from './udp-expiry.js';

export interface TracerInfo {
  backend: BackendName;
  backendReason: string;
  transport: Transport;
  transportReason: string;
  offsets: OffsetSource;
  /** Why these offsets: BTF readable, guessed (and how long it took), or given. */
  offsetsReason: string;
  /**
   * Bytes are counted at each send and receive call: the fentry and kprobe
   * backends on every kernel, the tracepoint backends where the kernel has
   * sock_send_length / sock_recv_length (6.3+); else TCP bytes advance at
   * tcp_rcv_space_adjust / tcp_probe and UDP is not counted.
   */
  perCall: boolean;
  /** Peers of unconnected UDP sockets are known: from the kernel's copies (fentry, kprobe) or the syscall tracepoints. */
  udpPeers: boolean;
  /** ...attached on demand (option udpPeers 'auto'): stats().udpPeersAttached says when they are. */
  udpPeersOnDemand: boolean;
  /** Connection ids are socket cookies (tracing programs, 5.12+); else ids assigned at first sight. */
  cookies: boolean;
  /** The per-connection hash maps are preallocated (option mapPrealloc), and why. */
  mapPrealloc: boolean;
  mapPreallocReason: string;
  /** How the hot path reads kernel structs (option kernelReads), and why. */
  kernelReads: KernelReads;
  kernelReadsReason: string;
  kernel: string;
  programs: string[];
  /** fentry and kprobe backends: how each function hook runs here (fentry variant, kprobes, or not at all), and why. */
  hooks: HookInfo[];
  /**
   * Legacy tracefs probe events that processes killed before they could
   * close left behind (named by the loader or libbpf with a pid that no
   * longer exists), found at this start: `removed`, or `failed` with the
   * errno name (EBUSY: still attached). Empty where tracefs has no probe events.
   */
  staleProbeEvents: { removed: string[]; failed: string[] };
  /**
   * Where this start() spent its time, ms per phase in order (wall clock:
   * what another thread or process took meanwhile counts too): btf (kernel
   * BTF opened, or reused), offsets, backend (choice and feature probes),
   * staleProbeEvents, transport, programs, kallsyms (waiting for the
   * background read), globals, load (object open, map creation, verifier;
   * retries included), ports (listening-port scan), attach.
   */
  startTimings: Record<string, number>;
}

/** Wall-clock ms between the laps of start(), by phase name. */
class PhaseClock {
  readonly laps: Record<string, number> = {};
  #last = performance.now();
  lap(name: string): void {
    const now = performance.now();
    this.laps[name] = Math.round((now - this.#last) * 10) / 10;
    this.#last = now;
  }
}

export interface TracerStats {
  /** Kernel counters: map full, failed reads, close records sent / lost, ... (summed over CPUs). */
  kernel: Telemetry;
  /** Close records delivered to userspace since start. */
  closedDelivered: number;
  /** perf transport: samples the kernel dropped because the perf ring was full (4 records each). */
  closedLostSamples: number;
  /** Closed connections dropped because a client's queue was full (summed over the clients registered now). */
  closedQueueDropped: number;
  /** Per client: closed connections waiting, dropped, last call. */
  clients: ClientStats[];
  /** Clients dropped because they were silent longer than clientTimeoutMs. */
  clientsExpired: number;
  /** UDP flows ended by idle expiry since start. */
  udpExpired: number;
  /** TCP records idle past tcpIdleCheckMs whose connection the kernel's socket table no longer had: removed, delivered closed 'expired'. */
  tcpVanished: number;
  /**
   * Entries of destroyed TCP sockets the kernel failed to delete (telemetry
   * sockStateDeleteFailed; their close records were sent at the destroy),
   * removed by this library. Until removed they are never shown.
   */
  tcpDeadRemoved: number;
  /**
   * Close records of sockets the TCP idle check had already delivered closed
   * 'expired': a socket the kernel's table no longer lists (it reached CLOSE,
   * e.g. by a reset or a failed connect) but whose owner kept it open past
   * tcpIdleCheckMs, then closed it. Dropped: the connection was delivered once.
   */
  tcpExpiredThenDestroyed: number;
  /** The syscall programs for unconnected UDP peers are attached (at start, or on demand once a peer was missed). */
  udpPeersAttached: boolean;
  /** Why attaching them on demand failed, if it did (not retried). */
  udpPeersError: Error | undefined;
  /**
   * The last connections()/snapshot() call (zeros before the first): the
   * connections it returned, its whole time, and of that the time spent in
   * the kernel's map reads (BPF_MAP_LOOKUP_BATCH, or key-by-key lookups
   * before 5.6); the rest is this library's work. Views read later are not
   * included.
   */
  lastRead: { connections: number; totalNs: number; kernelReadNs: number };
  /** Entries in the per-connection map, and its size. */
  connections: number;
  maxConnections: number;
  /**
   * Per program: times the kernel skipped it because a BPF program was already
   * running on that CPU (recursion misses, from prog info: 5.12+; undefined
   * where the kernel does not say, e.g. 5.10), kprobe misses (`missed`:
   * kretprobe instances exhausted or recursion, from tracefs kprobe_profile
   * for kretprobes and the link info on 6.7+; undefined for other kinds and
   * where the kernel does not say), and its run count / run time
   * while BPF stats are enabled (kernel.bpf_stats_enabled).
   */
  programs: { name: string; recursionMisses: bigint | undefined; missed: bigint | undefined; runCount: bigint; runTimeNs: bigint }[];
}

const DEFAULT_MAX = 65536;
/** The hash maps option mapPrealloc applies to: the per-connection maps, the listening ports, the UDP syscalls in flight. */
const PREALLOC_MAPS = ['conn_stats', 'sock_state', 'port_bindings', 'udp_calls'];
const TWO32 = 4294967296;
/** Expired sockets remembered for their late close record (the oldest are forgotten first). */
const MAX_EXPIRED_SOCKETS = 16384;

/** A socket record's last activity: the newest timestamp of its process slots (-1 without a slot; ns as a number). */
function recordStamp(w: Uint32Array, r: number, nslots: number): number {
  const n = Math.min(nslots, REC.maxPids);
  const ts = REC.slots + TS_WORD;
  let stamp = -1;
  for (let j = 0; j < n; j++) {
    const k = r + ts + REC.slotWords * j;
    const t = w[k]! + w[k + 1]! * TWO32;
    if (t > stamp) stamp = t;
  }
  return stamp;
}
/** conn_stats.timestamp, in words. */
const TS_WORD = abi.structs.conn_stats.fields.timestamp.offset / 4;

/** snapshot()'s client name. */
const DEFAULT_CLIENT = 'default';

/**
 * The kernel has tracepoint `name`: tracefs has its event directory, or
 * (tracefs not mounted) its BTF has the btf_trace_<name> typedef. tracefs
 * first: one stat, where a BTF name lookup may build the name index of
 * every type (60-100 ms of a first start here).
 */
function hasTracepoint(btf: Btf | undefined, category: string, name: string): boolean {
  const tracefs = findTracefs();
  if (tracefs !== undefined) return existsSync(`${tracefs}/events/${category}/${name}`);
  return btf !== undefined && btf.findIds(`btf_trace_${name}`).length > 0;
}

/**
 * The running kernel's BTF, parsed once and reused (a parse and its name
 * index cost about 100 ms here, seconds in an emulated guest), and the
 * offsets read from it, kept for the process (the kernel does not change
 * under a running process). The BTF is 15 MB of memory a running tracer does
 * not need: it is held for BTF_KEEP_MS after its last use (starts in a row,
 * as tests make them, parse it once), then only weakly.
 */
let kernelBtfRef: WeakRef<Btf> | undefined;
let kernelBtfHeld: Btf | undefined;
let kernelBtfRelease: NodeJS.Timeout | undefined;
let kernelOffsets: SockOffsets | undefined;
const BTF_KEEP_MS = 60_000;

function kernelBtf(): Btf | undefined {
  let btf = kernelBtfRef?.deref();
  if (!btf) {
    try {
      btf = readKernelBtf();
    } catch {
      return undefined;
    }
    kernelBtfRef = new WeakRef(btf);
  }
  kernelBtfHeld = btf;
  clearTimeout(kernelBtfRelease);
  kernelBtfRelease = setTimeout(() => (kernelBtfHeld = undefined), BTF_KEEP_MS);
  kernelBtfRelease.unref();
  return btf;
}

function btfOffsets(btf: Btf): SockOffsets {
  if (kernelBtfRef?.deref() === btf) return (kernelOffsets ??= offsetsFromBtf(btf));
  return offsetsFromBtf(btf);
}

/**
 * The offsets and where they come from: kernel BTF (parsed once per process),
 * guessed (resolveOffsets, never cached: the guess is checked every time), or
 * the caller's object.
 */
async function chooseOffsets(opt: TracerOptions['offsets'], btf: Btf | undefined): Promise<{ offsets: SockOffsets; source: OffsetSource; reason: string }> {
  const o = opt ?? 'auto';
  if (typeof o === 'object' && o !== null) return { offsets: o, source: 'guess', reason: 'given by the offsets option' };
  if (o !== 'auto' && o !== 'btf' && o !== 'guess') {
    throw new TracerError('ERR_TRACER_OPTION', `offsets: expected 'auto', 'btf', 'guess' or a SockOffsets object, got ${String(o)}`);
  }
  if (o === 'btf' && !btf) throw new TracerError('ERR_NO_BTF', "offsets 'btf': this kernel has no readable BTF (/sys/kernel/btf/vmlinux); use 'auto' or 'guess'");
  if (btf && o !== 'guess') return { offsets: btfOffsets(btf), source: 'btf', reason: o === 'btf' ? 'forced by the offsets option' : 'auto: kernel BTF is readable' };
  const r = await resolveOffsets({ source: 'guess' });
  const why = o === 'guess' ? 'forced by the offsets option' : 'auto: no readable kernel BTF';
  return { offsets: r.offsets, source: 'guess', reason: `${why}: guessed in ${Math.round(r.guessMs ?? 0)} ms` };
}

interface BackendChoice {
  backend: Backend;
  reason: string;
  hooks: HookPlan[];
}

/** The backend's function hooks on this kernel (none for tracepoint backends). */
function hooksFor(backend: Backend, btf: Btf | undefined, forceKprobe: readonly string[]): HookPlan[] {
  if (!backend.hooks) return [];
  return planHooks(backend.hooks, btf, probeFeature('kprobes'), forceKprobe);
}

/** How chooseBackend() checks the kernel's needs: the tp_btf check, and backends already refused at load (a retry of auto). */
interface NeedsCheck {
  tpBtf: 'load' | 'probe';
  btf: boolean;
  refused: ReadonlyMap<BackendName, string>;
}

function chooseBackend(opt: TracerOptions['backend'], btf: Btf | undefined, forceKprobe: readonly string[], noHookOffsets: string | undefined, check: NeedsCheck): BackendChoice {
  if (opt !== undefined && opt !== 'auto') {
    if (!BACKENDS.some((b) => b.name === opt)) {
      throw new TracerError('ERR_TRACER_OPTION', `backend: "${String(opt)}" is not one of auto, ${BACKENDS.map((b) => b.name).join(', ')}`);
    }
    const backend = backendByName(opt);
    const missing = backendMissing(backend, noHookOffsets, check);
    if (missing) throw new TracerError('ERR_NO_BACKEND', `backend "${opt}" cannot run here: ${missing}`);
    return { backend, reason: 'forced by the backend option', hooks: hooksFor(backend, btf, forceKprobe) };
  }
  // auto: the first row whose needs hold and whose hooks all plan.
  const skipped: string[] = [];
  for (const backend of BACKENDS) {
    const missing = backendMissing(backend, noHookOffsets, check);
    if (missing) {
      skipped.push(`${backend.name}: ${missing}`);
      continue;
    }
    try {
      const hooks = hooksFor(backend, btf, forceKprobe);
      const reason = skipped.length === 0 ? `auto: the first backend that runs here` : `auto: ${skipped.join('; ')}`;
      return { backend, reason, hooks };
    } catch (e) {
      if (!(e instanceof TracerError)) throw e;
      skipped.push(`${backend.name}: ${e.message}`);
    }
  }
  throw new TracerError('ERR_NO_BACKEND', `no backend can run here (${skipped.join('; ')})`);
}

/** Why the kernel (or the offsets) cannot run the backend, or undefined if it can. */
function backendMissing(b: Backend, noHookOffsets: string | undefined, check: NeedsCheck): string | undefined {
  const why: string[] = [];
  const refused = check.refused.get(b.name);
  if (refused) return refused;
  if (b.hooks && noHookOffsets) why.push(`its function hooks read ${noHookOffsets}; use offsets from BTF, or guessed on a kernel with kprobes`);
  if (b.needs.fentry) {
    const f = probeFeature('fentry');
    if (!f.supported) why.push(f.detail);
  }
  if (b.needs.kprobes) {
    const k = probeFeature('kprobes');
    if (!k.supported) why.push(k.detail);
  }
  if (b.needs.tpBtf) {
    // 'load': what the probe would learn, the tracer's own load learns too (and libbpf reads the kernel's BTF for it anyway).
    const t = check.tpBtf === 'probe' ? probeFeature('tpBtf') : featureTurnedOff('tpBtf');
    if (t && !t.supported) why.push(`tp_btf is not available (${t.detail})`);
    else if (check.tpBtf === 'load' && !check.btf) why.push('tp_btf is not available (no readable kernel BTF: /sys/kernel/btf/vmlinux)');
  }
  if (b.needs.tracefs && !findTracefs()) why.push('tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)');
  return why.length ? why.join('; ') : undefined;
}

/**
 * The kernel refused a tp_btf program of the tracer's load (not the verifier
 * refusing our code): what the tp_btf feature probe would have found, in
 * words; undefined for any other failure.
 */
function tpBtfRefusal(e: unknown): string | undefined {
  if (!(e instanceof BpfError) || e instanceof BpfVerifierError || !e.program) return undefined;
  const tp = backendByName('tp_btf');
  if (![...tp.lifecycle, ...tp.perCall, ...tp.legacy].includes(e.program)) return undefined;
  return `tp_btf is not available (the kernel refused tp_btf program ${e.program}: ${e.code}${e.syscall ? ` from ${e.syscall}` : ''})`;
}

function isPreemptRt(): boolean {
  return /PREEMPT_RT/.test(version());
}

function chooseTransport(opt: TracerOptions['transport']): { transport: Transport; reason: string } {
  if (opt === 'perf') {
    if (isPreemptRt()) {
      throw new TracerError('ERR_TRACER_OPTION', 'transport: "perf" is refused on a PREEMPT_RT kernel: per-CPU batch appends can interleave there; use the ring buffer (transport: "ringbuf")');
    }
    return { transport: 'perf', reason: 'forced by the transport option' };
  }
  if (opt !== undefined && opt !== 'auto' && opt !== 'ringbuf') {
    throw new TracerError('ERR_TRACER_OPTION', `transport: "${String(opt)}" is not one of auto, ringbuf, perf`);
  }
  const ring = probeFeature('ringbuf');
  if (ring.supported) return { transport: 'ringbuf', reason: opt === 'ringbuf' ? 'forced by the transport option' : 'the kernel has BPF ring buffers' };
  if (opt === 'ringbuf') throw new TracerError('ERR_NO_TRANSPORT', `transport: "ringbuf" is not available here (${ring.detail})`);
  if (isPreemptRt()) throw new TracerError('ERR_NO_TRANSPORT', 'no close-record transport: no ring buffer, and the perf batches are refused on PREEMPT_RT');
  return { transport: 'perf', reason: `no ring buffer (${ring.detail}): per-CPU batches on a perf buffer` };
}

/** The running kernel's major.minor, from its release (e.g. 6.1 of "6.1.0-50-cloud-amd64"); undefined if unreadable. */
export function kernelVersion(rel = release()): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * Preallocate the per-connection hash maps? Not on 6.1+ (not PREEMPT_RT):
 * the BPF memory allocator (6.1) made maps allocated at run time safe in
 * tracing programs, and the verifier stopped checking. Before 6.1 it refuses
 * them in kprobe / tracepoint / raw tracepoint programs on PREEMPT_RT and
 * warns (WARN_ONCE, in the kernel log) elsewhere; on PREEMPT_RT 6.1+ we stay
 * with preallocation (conservative: latency, untested there).
 */
export function choosePrealloc(opt: TracerOptions['mapPrealloc'], rel = release(), rt = isPreemptRt()): { prealloc: boolean; reason: string } {
  const o = opt ?? 'auto';
  if (o !== 'auto' && typeof o !== 'boolean') throw new TracerError('ERR_TRACER_OPTION', `mapPrealloc: expected true, false or 'auto', got ${String(o)}`);
  const v = kernelVersion(rel);
  const allocator = v !== undefined && (v[0] > 6 || (v[0] === 6 && v[1] >= 1));
  if (o === true) return { prealloc: true, reason: 'forced by the mapPrealloc option' };
  if (o === false) {
    if (!allocator) {
      throw new TracerError('ERR_TRACER_OPTION', `mapPrealloc false needs a 6.1+ kernel (the BPF memory allocator); this is ${rel}: the verifier refuses maps allocated at run time in tracepoint and kprobe programs (PREEMPT_RT) or warns in the kernel log`);
    }
    return { prealloc: false, reason: 'forced by the mapPrealloc option' };
  }
  if (!allocator) return { prealloc: true, reason: `auto: kernel ${rel} is older than 6.1 (no BPF memory allocator for tracing programs)` };
  if (rt) return { prealloc: true, reason: 'auto: a PREEMPT_RT kernel keeps preallocated maps' };
  return { prealloc: false, reason: `auto: kernel ${rel} is 6.1+ (BPF memory allocator): elements allocated as connections appear` };
}

function positiveInt(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new TracerError('ERR_TRACER_OPTION', `${name}: expected an integer from 1 to ${max}, got ${String(v)}`);
  }
  return v;
}

export class Tracer {
  readonly info: TracerInfo;
  #obj: BpfObject;
  /** Links of the function hooks' kprobes (their misses are in stats()). */
  #links: Map<string, Link>;
  #closed: ClosedReader;
  #clients: Clients;
  #iterators = 0;
  #names = new ProcessNames();
  /** closedConnections() iterators waiting for a close record. */
  #waiters = new Set<() => void>();
  #pollMs: number;
  #expired = 0;
  #vanished = 0;
  #deadRemoved = 0;
  /** Sockets the idle check expired (rowSocket keys, oldest first, bounded), until a close record of theirs comes or they age out. */
  #expiredSockets = new Map<string, bigint | undefined>();
  #expiredThenDestroyed = 0;
  #tcpIdleMs: number;
  #lastTcpCheck = Date.now();
  #lastRead = Date.now();
  #sweepMs: number;
  #sweepTimer: NodeJS.Timeout;
  #udpTimeouts: UdpTimeouts;
  #timer: NodeJS.Timeout;
  /** Syscall programs to attach once a UDP peer is missed (udpPeers 'auto'); empty once attached. */
  #peersLater: readonly string[];
  #peersError: Error | undefined;
  #maxConnections: number;
  /** Connections of the last read. */
  #lastCount = 0;
  #lastReadStats = { connections: 0, totalNs: 0, kernelReadNs: 0 };
  /** Rows a client's slab is made for: every entry of both connection maps. */
  #rowsCapacity: number;
  #isClosed = false;
  /** Chunked readers of the connection maps, with buffers kept for the tracer's life. */
  #sockScan: MapScanner;
  #connScan: MapScanner;
  #onAbort: (() => void) | undefined;
  #signal: AbortSignal | undefined;

  private constructor(
    obj: BpfObject,
    info: TracerInfo,
    transport: Transport,
    maxConnections: number,
    pollMs: number,
    udpTimeouts: UdpTimeouts,
    peersLater: readonly string[],
    clients: Clients,
    links: Map<string, Link>,
    tcpIdleMs: number,
    signal?: AbortSignal,
  ) {
    this.#tcpIdleMs = tcpIdleMs;
    this.#links = links;
    this.#peersLater = peersLater;
    this.#clients = clients;
    this.#pollMs = pollMs;
    // snapshot()'s client exists from the start: it sees every close from then on.
    clients.add(DEFAULT_CLIENT, Date.now());
    this.#obj = obj;
    this.#sockScan = new MapScanner(obj.map('sock_state'));
    this.#rowsCapacity = obj.map('sock_state').maxEntries + obj.map('conn_stats').maxEntries;
    this.#connScan = new MapScanner(obj.map('conn_stats'));
    this.#udpTimeouts = udpTimeouts;
    this.info = info;
    this.#maxConnections = maxConnections;
    this.#closed = new ClosedReader(obj, transport, (c) => this.#fromKernel(c));
    this.#sweepMs = Math.max(1000, Math.min(udpTimeouts.oneWayMs, udpTimeouts.assuredMs, this.#tcpIdleMs) / 2);
    this.#sweepTimer = setInterval(() => this.#sweep(), this.#sweepMs);
    this.#sweepTimer.unref();
    // Bounded delay: consumed on a timer as well as on wake-ups.
    this.#timer = setInterval(() => {
      this.#closed.flush();
      this.#attachPeersIfMissed();
    }, pollMs);
    this.#timer.unref();
    if (signal) {
      this.#signal = signal;
      this.#onAbort = () => this.close();
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Load, seed, attach, and start receiving close records. Everything is released if any step fails. */
  static async start(opts: TracerOptions = {}): Promise<Tracer> {
    return Tracer.#start(opts, new Map());
  }

  /** start(), with the backends the kernel refused at an earlier load of this start (auto goes on to the next). */
  static async #start(opts: TracerOptions, refused: ReadonlyMap<BackendName, string>): Promise<Tracer> {
    if (opts === null || typeof opts !== 'object') throw new TracerError('ERR_TRACER_OPTION', 'options: expected an object');
    if (opts.signal?.aborted) throw new TracerError('ABORT_ERR', 'start: the signal was already aborted');
    const maxConnections = opts.maxConnections === undefined ? DEFAULT_MAX : positiveInt('maxConnections', opts.maxConnections, 1 << 24);
    const ringBytes = opts.ringBytes === undefined ? 1 << 22 : positiveInt('ringBytes', opts.ringBytes, 1 << 30);
    if ((ringBytes & (ringBytes - 1)) !== 0 || ringBytes < 4096) throw new TracerError('ERR_TRACER_OPTION', `ringBytes: expected a power of two of at least 4096, got ${ringBytes}`);
    const pollMs = opts.closedPollMs === undefined ? 200 : positiveInt('closedPollMs', opts.closedPollMs, 60_000);
    const statsMs = opts.tcpStatsIntervalMs === undefined ? 10 : opts.tcpStatsIntervalMs === 0 ? 0 : positiveInt('tcpStatsIntervalMs', opts.tcpStatsIntervalMs, 60_000);
    const udpPeersOpt = opts.udpPeers ?? 'auto';
    const maxClosed = opts.maxClosedPerClient === undefined ? 50_000 : positiveInt('maxClosedPerClient', opts.maxClosedPerClient, 1 << 24);
    const clientTimeoutMs = opts.clientTimeoutMs === undefined ? 120_000 : positiveInt('clientTimeoutMs', opts.clientTimeoutMs, 86_400_000);
    const tcpIdleMs = opts.tcpIdleCheckMs === undefined ? 600_000 : positiveInt('tcpIdleCheckMs', opts.tcpIdleCheckMs, 86_400_000);
    const udpTimeouts = defaultUdpTimeouts();
    if (opts.udpTimeoutMs !== undefined) udpTimeouts.oneWayMs = positiveInt('udpTimeoutMs', opts.udpTimeoutMs, 86_400_000);
    if (opts.udpAssuredTimeoutMs !== undefined) udpTimeouts.assuredMs = positiveInt('udpAssuredTimeoutMs', opts.udpAssuredTimeoutMs, 86_400_000);
    if (typeof udpPeersOpt !== 'boolean' && udpPeersOpt !== 'auto') throw new TracerError('ERR_TRACER_OPTION', `udpPeers: expected true, false or 'auto', got ${String(udpPeersOpt)}`);
    const udpPeers = udpPeersOpt !== false;
    const { prealloc, reason: mapPreallocReason } = choosePrealloc(opts.mapPrealloc);
    const tpBtfCheck = opts.tpBtfCheck ?? 'load';
    if (tpBtfCheck !== 'load' && tpBtfCheck !== 'probe') throw new TracerError('ERR_TRACER_OPTION', `tpBtfCheck: expected 'load' or 'probe', got ${String(tpBtfCheck)}`);
    const readsOpt = opts.kernelReads ?? 'auto';
    if (readsOpt !== 'auto' && readsOpt !== 'direct' && readsOpt !== 'probe') {
      throw new TracerError('ERR_TRACER_OPTION', `kernelReads: expected 'auto', 'direct' or 'probe', got ${String(readsOpt)}`);
    }

    const clock = new PhaseClock();
    // /proc/kallsyms is written out by the kernel on another CPU meanwhile;
    // not where it is known already that the start will not wait for it (tp_btf forced, see protBySkProtocol).
    const offsetsOpt = opts.offsets ?? 'auto';
    const noKallsyms = opts.backend === 'tp_btf' && readsOpt !== 'probe' && (offsetsOpt === 'auto' || offsetsOpt === 'btf') && existsSync('/sys/kernel/btf/vmlinux');
    const protReady = noKallsyms ? Promise.resolve() : prefetchProtGlobals();
    // One parse of the kernel's BTF serves the offsets and the tracepoint check.
    const btf = kernelBtf();
    clock.lap('btf');
    const { offsets, source, reason: offsetsReason } = await chooseOffsets(opts.offsets, btf);
    clock.lap('offsets');

    const forceKprobe = opts.kprobeHooks ?? [];
    if (!Array.isArray(forceKprobe) || forceKprobe.some((h) => typeof h !== 'string')) throw new TracerError('ERR_TRACER_OPTION', 'kprobeHooks: expected an array of hook names');
    checkHookNames(forceKprobe);
    const lacking = HOOK_FIELDS.filter((f) => offsets[f] === undefined);
    const { backend, reason: backendReason, hooks } = chooseBackend(
      opts.backend,
      btf,
      forceKprobe,
      lacking.length ? `${lacking.join(', ')}, which the offsets lack (${offsets.unavailable?.[lacking[0]!] ?? 'not given'})` : undefined,
      { tpBtf: tpBtfCheck, btf: btf !== undefined, refused },
    );
    clock.lap('backend');
    // What a SIGKILL could not clean up (legacy kprobe events of a killed tracer): removed before we add ours.
    const stale = removeStaleProbeEvents();
    clock.lap('staleProbeEvents');
    const { transport, reason: transportReason } = chooseTransport(opts.transport);
    clock.lap('transport');
    // Function hooks count every call on every kernel and read UDP peers from the kernel's own copies.
    const hooked = backend.hooks !== undefined;
    const perCall = hooked || hasTracepoint(btf, 'sock', 'sock_send_length');
    const syscalls = !hooked && udpPeers && perCall;
    const legacy = hooked ? [] : backend.legacy.filter((p) => p !== 'tp_probe' || classicProbeUsable());
    const hookPrograms = hooks.flatMap((h) => h.load);
    const programs = [
      ...backend.lifecycle,
      ...(hooked ? hookPrograms.map((p) => p.program) : perCall ? backend.perCall : legacy),
      ...(syscalls ? UDP_PEER_PROGRAMS : []),
    ];

    clock.lap('programs');
    // tp_btf with direct loads tells TCP from UDP by sk_protocol, one direct
    // load as cheap as comparing skc_prot: it does not wait for /proc/kallsyms.
    const protBySkProtocol = backend.name === 'tp_btf' && readsOpt !== 'probe' && offsets.skProtocol !== undefined;
    let prot: Globals = { prot_tcp: 0n };
    if (protBySkProtocol) cancelProtPrefetch();
    else {
      await protReady;
      prot = protGlobals();
    }
    clock.lap('kallsyms');
    if (offsets.skProtocol === undefined && !prot.prot_tcp) {
      throw new TracerError('ERR_OFFSETS_UNAVAILABLE', `offsets: sk_protocol is missing (${offsets.unavailable?.skProtocol ?? 'not given'}) and /proc/kallsyms does not show tcp_prot & co. (kptr_restrict?): sockets cannot be told apart by protocol; use offsets from BTF`);
    }
    const globals: Globals = {
      ...offsetGlobals(offsets),
      ...prot,
      ...pidNamespaceGlobals(),
      transport_perf: transport === 'perf' ? 1 : 0,
      // wake the reader once 1/8 of the ring (at most 128 KiB) is pending: a bigger ring holds more, it does not wait longer
      ring_wakeup_bytes: Math.min(ringBytes / 8, 1 << 17),
      udp_syscalls: syscalls ? 1 : 0,
      tcp_stats_interval_ns: BigInt(statsMs) * 1_000_000n,
    };
    if (backend.name === 'tracepoint') Object.assign(globals, classicTracepointGlobals(perCall, !perCall));
    if (backend.name === 'kprobe') Object.assign(globals, classicTracepointGlobals(false, false));
    if (syscalls) Object.assign(globals, syscallGlobals());

    if (readsOpt === 'direct' && !backend.btfTyped) {
      throw new TracerError('ERR_TRACER_OPTION', `kernelReads 'direct' needs a backend with BTF-typed sockets (fentry, tp_btf); backend ${backend.name} gets plain addresses: use 'probe' or 'auto'`);
    }
    let cookies = backend.btfTyped;
    let direct = backend.btfTyped && readsOpt !== 'probe';
    let kernelReadsReason =
      readsOpt !== 'auto' ? 'forced by the kernelReads option' : direct ? 'auto: the backend passes BTF-typed sockets' : `auto: backend ${backend.name} passes plain socket addresses`;
    const load = async (): Promise<BpfObject> => {
      const obj = BpfObject.open(objects.tracer);
      try {
        obj.setGlobals({ ...globals, have_cookie: cookies ? 1 : 0, direct_loads: direct ? 1 : 0 });
        for (const m of ['conn_stats', 'sock_state']) obj.map(m).setMaxEntries(maxConnections);
        // The plain hash maps (the LRU one cannot be allocated at run time): created as mapPrealloc says.
        for (const name of PREALLOC_MAPS) {
          const m = obj.map(name);
          m.setFlags(prealloc ? m.flags & ~BPF_F_NO_PREALLOC : m.flags | BPF_F_NO_PREALLOC);
        }
        obj.map('closed_ring').setMaxEntries(transport === 'ringbuf' ? ringBytes : 4096);
        for (const p of programs) obj.program(p).setAutoload(true);
        await obj.load();
        return obj;
      } catch (e) {
        obj.close();
        throw e;
      }
    };
    // What a verifier may refuse is tried and dropped when it does:
    // bpf_get_socket_cookie() on a BTF socket (tracing programs, 5.12+: else
    // assigned ids), then direct loads (else probe reads).
    let obj: BpfObject | undefined;
    clock.lap('globals');
    while (!obj) {
      try {
        obj = await load();
      } catch (e) {
        const why = tpBtfCheck === 'load' && backend.needs.tpBtf ? tpBtfRefusal(e) : undefined;
        if (why) {
          const auto = opts.backend === undefined || opts.backend === 'auto';
          if (!auto) throw new TracerError('ERR_NO_BACKEND', `backend "${backend.name}" cannot run here: ${why}`, { cause: e });
          // Every backend that needs tp_btf is out: the next one that runs here, from the top (BTF and kallsyms are cached).
          const next = new Map(refused);
          for (const b of BACKENDS) if (b.needs.tpBtf) next.set(b.name, why);
          return Tracer.#start(opts, next);
        }
        if (!(e instanceof BpfVerifierError)) throw e;
        if (cookies && /get_socket_cookie/.test(e.log ?? e.message)) {
          cookies = false;
        } else if (direct && readsOpt === 'auto') {
          direct = false;
          kernelReadsReason = `auto: the verifier refused direct loads (${e.message.split('\n')[0]})`;
        } else {
          throw e;
        }
      }
    }
    clock.lap('load');
    try {
      const pb = obj.map('port_bindings');
      const one = Buffer.from([1]);
      for (const { netns, port } of listeningPorts()) pb.update(encodePortBinding({ netns, port, protocol: IpProtocol.TCP }), one);
      clock.lap('ports');
      // On demand, the syscall programs wait (loaded, not attached) until a peer is missed.
      const onDemand = udpPeersOpt === 'auto' && syscalls;
      const later = onDemand ? UDP_PEER_PROGRAMS : [];
      const how = new Map(hookPrograms.map((p) => [p.program, p.attach]));
      const links = new Map<string, Link>();
      for (const name of programs) {
        if (later.includes(name)) continue;
        links.set(name, obj.program(name).attach(how.get(name)));
      }
      clock.lap('attach');
      const info: TracerInfo = {
        backend: backend.name,
        backendReason,
        transport,
        transportReason,
        offsets: source,
        offsetsReason,
        perCall,
        udpPeers: hooked || syscalls,
        udpPeersOnDemand: onDemand,
        cookies,
        mapPrealloc: prealloc,
        mapPreallocReason,
        kernelReads: direct ? 'direct' : 'probe',
        kernelReadsReason,
        kernel: release(),
        programs,
        hooks: hooks.map(({ name, kind, programs: p, reason }) => ({ name, kind, programs: p, reason })),
        staleProbeEvents: { removed: stale.removed.map((e) => e.event), failed: stale.failed.map((e) => `${e.event} (${e.code})`) },
        startTimings: clock.laps,
      };
      return new Tracer(obj, info, transport, maxConnections, pollMs, udpTimeouts, later, new Clients(maxClosed, clientTimeoutMs), links, tcpIdleMs, opts.signal);
    } catch (e) {
      obj.close();
      throw e;
    }
  }

  #check(op: string): void {
    if (this.#isClosed) throw new TracerError('ERR_TRACER_CLOSED', `${op}: the tracer is closed`);
  }

  /**
   * Live connections (their counters so far) and the connections closed
   * since the last call, each closed one exactly once: connections() of the
   * default client.
   */
  snapshot(): ConnectionList {
    this.#check('snapshot');
    return this.connections({ client: DEFAULT_CLIENT });
  }

  /**
   * One client's view: live connections, then those closed since that
   * client's last call (each exactly once, up to maxClosedPerClient waiting:
   * more are dropped and counted), every one with `delta`, what moved since
   * the client's previous call. Clients are independent; a new name starts
   * now (it sees what closes from its first call on), and a client silent
   * for clientTimeoutMs is dropped.
   */
  connections(opts: { client?: string } = {}): ConnectionList {
    this.#check('connections');
    const client = opts.client ?? DEFAULT_CLIENT;
    if (typeof client !== 'string' || client === '') throw new TracerError('ERR_TRACER_OPTION', 'connections: client must be a non-empty string');
    const t0 = process.hrtime.bigint();
    const k0 = this.#sockScan.readNs + this.#connScan.readNs;
    this.#closed.flush();
    this.#attachPeersIfMissed();
    // One slab per client, for every entry the maps can hold (untouched rows cost no memory), grown (copied) only
    // when sockets used by several processes fill more rows than that.
    const rows = this.#clients.rowsFor(client, Date.now(), this.#rowsCapacity, this.#lastCount);
    this.#readTcp(rows);
    // UDP flows expired by this read are closes like any other: every client gets them.
    for (const c of this.#readFlows(rows)) this.#enqueue(c);
    this.#lastCount = rows.n;
    const now = Date.now();
    const name = (pid: number): string | undefined => this.#names.get(pid, now);
    for (let i = 0; i < rows.n; i++) rows.nameRow(i, name);
    this.#clients.expire(now);
    const list = this.#clients.take(client, rows, now);
    this.#lastReadStats = {
      connections: list.length,
      totalNs: Number(process.hrtime.bigint() - t0),
      kernelReadNs: this.#sockScan.readNs + this.#connScan.readNs - k0,
    };
    return list;
  }

  /**
   * Closed connections as they come: an async iterator with a client of its
   * own (it sees what closes from the call on, each once, bounded like any
   * client). It waits at most closedPollMs between reads of the kernel's
   * close records, and ends when the tracer closes or `signal` aborts.
   */
  async *closedConnections(opts: { signal?: AbortSignal } = {}): AsyncGenerator<ConnectionView, void, undefined> {
    this.#check('closedConnections');
    const { signal } = opts;
    const name = `closed-iterator-${++this.#iterators}`;
    this.#clients.add(name, Date.now());
    try {
      while (!this.#isClosed && !signal?.aborted) {
        this.#closed.flush();
        const batch = this.#clients.takeClosed(name, Date.now());
        for (const c of batch) yield c;
        if (batch.length === 0) await this.#nextClose(signal);
      }
    } finally {
      this.#clients.remove(name);
    }
  }

  /** Resolves at the next close record, after closedPollMs, at close() or when `signal` aborts. */
  #nextClose(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, this.#pollMs);
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * udpPeers 'auto': attach the syscall programs once the kernel missed a
   * UDP peer. A failure is kept for stats() (this runs on a timer too) and
   * not retried; what was attached of them stays until close.
   */
  #attachPeersIfMissed(): void {
    if (this.#peersLater.length === 0 || this.#isClosed) return;
    if (this.#telemetry().udpAddrMissing === 0n) return;
    const names = this.#peersLater;
    this.#peersLater = [];
    try {
      for (const name of names) this.#links.set(name, this.#obj.program(name).attach());
    } catch (e) {
      this.#peersError = e instanceof Error ? e : new Error(String(e));
    }
  }

  /** Expire idle UDP flows into the closed queue when no snapshot did lately (keeps the map from filling). */
  #sweep(): void {
    if (this.#isClosed) return;
    this.#clients.expire(Date.now());
    if (Date.now() - this.#lastTcpCheck >= this.#tcpIdleMs / 2) {
      this.#lastTcpCheck = Date.now();
      for (const row of this.#vanishedTcp()) this.#enqueue(row);
    }
    if (Date.now() - this.#lastRead < this.#sweepMs) return;
    for (const row of this.#readFlows(undefined)) this.#enqueue(row);
  }

  /**
   * A close record from the kernel. A socket the idle check expired while it
   * was still open (unlisted in CLOSE state) gets a record at its destroy:
   * the kernel saw it anew (late, with no process), by the same 4-tuple and
   * netns (and cookie, where ids are cookies). That one is dropped and counted.
   */
  #fromKernel(row: Float64Array): void {
    if (this.#expiredSockets.size > 0) {
      const s = rowSocket(row);
      if (s.seenLate && this.#expiredSockets.has(s.key)) {
        const cookie = this.#expiredSockets.get(s.key);
        if (cookie === undefined || s.cookie === undefined || cookie === s.cookie) {
          this.#expiredSockets.delete(s.key);
          this.#expiredThenDestroyed++;
          return;
        }
      }
    }
    this.#enqueue(row);
  }

  /** A closed connection (its row) for every client, named now: the process may be gone by the time a client reads it. */
  #enqueue(row: Float64Array): void {
    const u = new Uint32Array(row.buffer, row.byteOffset, ROW * 2);
    const pid = u[W_PID]!;
    const c: ClosedRow = { row, command: pid === 0 ? undefined : this.#names.get(pid, Date.now()) };
    this.#clients.push(c);
    for (const wake of this.#waiters) wake();
  }

  /**
   * The flow map (UDP flows, and TCP entries of the kernels that keep them
   * there): live entries into `rows` (if given), and the UDP flows that
   * expired now, removed from the map, returned as closed rows.
   */
  #readFlows(rows: RowStore | undefined): Float64Array[] {
    this.#lastRead = Date.now();
    const connMap = this.#obj.map('conn_stats');
    const now = monotonicNs();
    const { oneWayMs, assuredMs } = this.#udpTimeouts;
    // Expired flows are deleted after the scan: deleting while a batch read walks the map could make it skip entries.
    const expired: { key: Buffer; timestamp: bigint }[] = [];
    const TW = CONN_TUPLE_SIZE / 4;
    const SW = CONN_STATS_SIZE / 4;
    this.#connScan.scan((keys, values, count) => {
      const kw = wordsOf(keys);
      const vw = wordsOf(values);
      if (rows) rows.reserve(count);
      for (let i = 0; i < count; i++) {
        const tup = decodeTuple(keys, i * CONN_TUPLE_SIZE);
        if (!tup.isTcp) {
          const st = decodeConnStats(values, i * CONN_STATS_SIZE);
          const idleMs = Number(now - st.timestamp) / 1e6;
          if (idleMs >= (st.isAssured ? assuredMs : oneWayMs)) {
            const at = i * CONN_TUPLE_SIZE;
            expired.push({ key: Buffer.from(keys.subarray(at, at + CONN_TUPLE_SIZE)), timestamp: st.timestamp });
            continue;
          }
        }
        if (rows) writeRow(rows.f, rows.u, rows.n++ * ROW, kw, i * TW, vw, i * SW, -1, -1, 0);
      }
    });
    const out: Float64Array[] = [];
    for (const { key, timestamp } of expired) {
      // Expired: removed from the kernel map and delivered as closed, once.
      // Re-read right before the delete: a datagram since the read keeps it alive.
      const fresh = connMap.lookup(key);
      if (fresh && decodeConnStats(fresh).timestamp === timestamp && connMap.delete(key)) {
        this.#expired++;
        out.push(rowFromFlow(key, fresh, ConnCloseReason.EXPIRED));
      } else if (fresh && rows) {
        rows.reserve(1);
        rows.f.set(rowFromFlow(key, fresh, 0), rows.n++ * ROW);
      }
    }
    return out;
  }

  /** Live TCP connections into `rows`: one per process slot of every socket record (struct tcp_sock_rec) that is live. */
  #readTcp(rows: RowStore): void {
    const map = this.#obj.map('sock_state');
    const stride = map.valueSize;
    const keySize = map.keySize;
    if (stride % 4 !== 0) throw new Error(`sock_state value size ${stride} is not a multiple of 4`);
    const sw = stride >>> 2;
    let dead: Buffer[] | undefined;
    this.#sockScan.scan((keys, values, count) => {
      const w = wordsOf(values);
      rows.reserve(count);
      for (let i = 0; i < count; i++) {
        const at = i * stride;
        const live = values[at + REC.live];
        if (live !== REC.LIVE) {
          if (live === REC.DEAD) (dead ??= []).push(Buffer.from(keys.subarray(i * keySize, (i + 1) * keySize)));
          continue;
        }
        const n = Math.min(values[at + REC.nslots]!, REC.maxPids);
        if (rows.n + n > rows.capacity) rows.reserve(n + count - i);
        const r = i * sw;
        for (let j = 0; j < n; j++) writeRow(rows.f, rows.u, rows.n++ * ROW, w, r + REC.tup, w, r + REC.slots + REC.slotWords * j, r + REC.tcp, w[r + REC.pids + j]!, 0);
      }
    });
    if (dead) this.#removeDead(dead);
  }

  /**
   * Delete sock_state entries left dead (their destroy's delete failed in
   * the kernel; their records were sent then). Each is looked up again right
   * before its delete: a new socket at that address may have replaced it.
   */
  #removeDead(keys: Buffer[]): void {
    const map = this.#obj.map('sock_state');
    for (const key of keys) {
      const v = map.lookup(key);
      if (v && v[REC.live] === REC.DEAD && map.delete(key)) this.#deadRemoved++;
    }
  }

  /**
   * TCP records idle longer than tcpIdleCheckMs whose connection the kernel's
   * socket table of their namespace no longer has (a destroy never seen):
   * removed from the map, one closed connection per process slot. An alive
   * connection, however idle, is in the table and stays.
   */
  #vanishedTcp(): Float64Array[] {
    const map = this.#obj.map('sock_state');
    const stride = map.valueSize;
    const keySize = map.keySize;
    const now = Number(monotonicNs());
    const idleNs = this.#tcpIdleMs * 1e6;
    const stale: { key: Buffer; rows: Float64Array[]; stamp: number }[] = [];
    const dead: Buffer[] = [];
    this.#sockScan.scan((keys, values, count) => {
      const w = wordsOf(values);
      for (let i = 0; i < count; i++) {
        const at = i * stride;
        if (values[at + REC.live] === REC.DEAD) {
          dead.push(Buffer.from(keys.subarray(i * keySize, (i + 1) * keySize)));
          continue;
        }
        const r = at >>> 2;
        const n = Math.min(values[at + REC.nslots]!, REC.maxPids);
        const stamp = recordStamp(w, r, n);
        if (stamp < 0 || now - stamp < idleNs) continue;
        const rs: Float64Array[] = [];
        for (let j = 0; j < n; j++) rs.push(rowFromRecord(w, r, j, ConnCloseReason.EXPIRED));
        const v = new ConnectionList(RowStore.of(rs[0]!)).at(0)!;
        if (v.localPort === 0 || v.remotePort === 0) continue;
        stale.push({ key: Buffer.from(keys.subarray(i * keySize, (i + 1) * keySize)), rows: rs, stamp });
      }
    });
    if (dead.length > 0) this.#removeDead(dead);
    if (stale.length === 0) return [];
    const first = (x: { rows: Float64Array[] }): ConnectionView => new ConnectionList(RowStore.of(x.rows[0]!)).at(0)!;
    const tables = socketTables(new Set(stale.map((x) => first(x).netns)), netnsRepresentatives());
    const out: Float64Array[] = [];
    for (const x of stale) {
      const c = first(x);
      const table = tables.get(c.netns);
      if (!table || table.has(tableKey(c))) continue;
      // Re-read right before the delete: an event since the read keeps it.
      const fresh = map.lookup(x.key);
      if (!fresh || recordStamp(wordsOf(fresh), 0, fresh[REC.nslots]!) !== x.stamp || !map.delete(x.key)) continue;
      this.#vanished++;
      out.push(...x.rows);
      // One key per socket: its process slots share the 4-tuple, netns and cookie.
      const { key, cookie } = rowSocket(x.rows[0]!);
      this.#expiredSockets.delete(key);
      this.#expiredSockets.set(key, cookie);
      if (this.#expiredSockets.size > MAX_EXPIRED_SOCKETS) this.#expiredSockets.delete(this.#expiredSockets.keys().next().value!);
    }
    return out;
  }

  /** The kernel's telemetry, summed over CPUs (one entry per CPU in the per-CPU value). */
  #telemetry(): Telemetry {
    const t = this.#obj.map('telemetry').lookup(Buffer.alloc(4))!;
    return sumTelemetry(t, 0, Math.floor(t.byteLength / TELEMETRY_SIZE));
  }

  stats(): TracerStats {
    this.#check('stats');
    return {
      kernel: this.#telemetry(),
      closedDelivered: this.#closed.delivered,
      closedLostSamples: this.#closed.lostSamples,
      closedQueueDropped: this.#clients.dropped,
      clients: this.#clients.stats(),
      clientsExpired: this.#clients.expired,
      udpExpired: this.#expired,
      tcpVanished: this.#vanished,
      tcpDeadRemoved: this.#deadRemoved,
      tcpExpiredThenDestroyed: this.#expiredThenDestroyed,
      udpPeersAttached: this.info.programs.some((p) => UDP_PEER_PROGRAMS.includes(p)) && this.#peersLater.length === 0 && this.#peersError === undefined,
      udpPeersError: this.#peersError,
      lastRead: { ...this.#lastReadStats },
      connections: this.#connScan.scan(() => {}) + this.#sockScan.scan(() => {}),
      maxConnections: this.#maxConnections,
      programs: this.info.programs.map((name) => {
        const p = this.#obj.program(name).stats();
        const link = this.#links.get(name);
        const missed = link && (link.kind === 'kprobe' || link.kind === 'kretprobe') ? link.nmissed() : undefined;
        return { name, recursionMisses: p.recursionMisses, missed, runCount: p.runCount, runTimeNs: p.runTimeNs };
      }),
    };
  }

  get closed(): boolean {
    return this.#isClosed;
  }

  /** Detach every program and release every map, link and reader. Safe to call twice. */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearInterval(this.#timer);
    clearInterval(this.#sweepTimer);
    for (const wake of this.#waiters) wake();
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    try {
      this.#closed.close();
    } finally {
      this.#obj.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
