// Kernel feature probes: each tries the real operation once per process
// (create a map, load and attach a trivial program) and caches the answer.
import { existsSync } from 'node:fs';
import { native, type NativeProbeResult } from './binding.js';
import { describeMissing, readCapabilities } from './capabilities.js';
import { type BpfErrorCode, errnoName } from './errno.js';
import { resolveKernelFunction } from './kallsyms.js';
import { BpfArgumentError } from './errors.js';
import { describeOperation } from './operations.js';
import { findTracefs, unreadableTracefs } from './tracefs.js';

export type Feature =
  | 'kernelBtf'
  | 'kprobes'
  | 'fentry'
  | 'tpBtf'
  | 'tracepoints'
  | 'rawTracepoints'
  | 'ringbuf'
  | 'batchOps';

export interface FeatureStatus {
  feature: Feature;
  supported: boolean;
  /** How it is available (kprobes: 'pmu' or 'tracefs'). */
  mode?: string;
  /** errno name of the refusal. */
  code?: BpfErrorCode;
  errno?: number;
  /** The operation that was tried. */
  op: string;
  /** The system call that refused it, when one did. */
  syscall?: string;
  /** What was found, in words. */
  detail: string;
}

const cache = new Map<Feature, FeatureStatus>();

function status(feature: Feature, r: NativeProbeResult, detail: string, mode?: string): FeatureStatus {
  const s: FeatureStatus = { feature, supported: r.ok, op: describeOperation(r.opId), detail };
  if (mode !== undefined && r.ok) s.mode = mode;
  if (r.errno !== undefined) {
    s.code = errnoName(r.errno);
    s.errno = r.errno;
  }
  if (r.syscall !== undefined) s.syscall = r.syscall;
  return s;
}

function firstFunction(names: string[]): string {
  for (const n of names) {
    try {
      return resolveKernelFunction(n).symbol;
    } catch {
      // try the next one
    }
  }
  return names[0] as string;
}

function refusal(r: NativeProbeResult, what: string): string {
  if (r.ok) return `${what}: works`;
  const code = r.errno === undefined ? 'failed' : errnoName(r.errno);
  const from = `${r.syscall ?? describeOperation(r.opId)}`;
  const caps = readCapabilities();
  if (code === 'EPERM' || code === 'EACCES') {
    if (!caps.tracing) return `${what}: ${code} from ${from}: this process (uid ${caps.uid}) lacks the privilege (${describeMissing(caps)})`;
    return `${what}: the kernel refused it (${code} from ${from}) although this process has CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN`;
  }
  return `${what}: ${code} from ${from}${r.detail ? ` (${r.detail})` : ''}`;
}

/** What to use instead of kprobes, from what the fentry probe found. */
function kprobeAlternatives(): string {
  return probeFeature('fentry').supported ? 'use tracepoints or fentry' : 'use tracepoints (fentry is refused here too)';
}

const probes: Record<Feature, () => FeatureStatus> = {
  kernelBtf: () => {
    const r = native.feature_kernel_btf();
    return status('kernelBtf', r, r.ok ? 'kernel BTF at /sys/kernel/btf/vmlinux' : refusal(r, 'kernel BTF'));
  },
  kprobes: () => {
    // Without the PMU the native probe answers before using the function name:
    // skip the (slow) /proc/kallsyms read then.
    const pmu = existsSync('/sys/bus/event_source/devices/kprobe/type');
    const fn = pmu ? firstFunction(['tcp_sendmsg', 'do_nanosleep', 'schedule']) : 'tcp_sendmsg';
    const r = native.feature_kprobe(fn);
    if (r.ok) return status('kprobes', r, `kprobe PMU attach on ${fn} works`, 'pmu');
    const noPmu = r.opId === 'probe_kprobe_pmu' && r.errno === 2 && r.syscall === undefined;
    const tracefs = findTracefs();
    if (noPmu && tracefs) {
      const t = native.feature_kprobe_tracefs(tracefs);
      if (t.ok) return status('kprobes', t, `no kprobe PMU; legacy ${tracefs}/kprobe_events is writable`, 'tracefs');
      // kprobe_events is there but not writable: that is a privilege matter, not a missing feature.
      if (existsSync(`${tracefs}/kprobe_events`)) return status('kprobes', t, refusal(t, 'kprobe_events'));
    }
    if (noPmu && unreadableTracefs()) {
      return status('kprobes', { ok: false, errno: 13, opId: 'probe_kprobe_events' }, refusal({ ok: false, errno: 13, opId: 'probe_kprobe_events' }, 'legacy kprobes (tracefs)'));
    }
    return status(
      'kprobes',
      r,
      noPmu
        ? `this kernel has no kprobes (no kprobe PMU and no tracefs kprobe_events: CONFIG_KPROBES is off); ${kprobeAlternatives()}`
        : refusal(r, `kprobe on ${fn}`),
    );
  },
  fentry: () => {
    // The first candidate the kernel's BTF knows (no kallsyms needed).
    let fn = 'tcp_sendmsg';
    let r = native.feature_trace('fentry', fn);
    for (const next of ['bpf_fentry_test1', 'do_nanosleep']) {
      if (r.opId !== 'probe_find_btf_id') break;
      fn = next;
      r = native.feature_trace('fentry', fn);
    }
    const detail = r.ok
      ? `fentry on ${fn} works`
      : `${refusal(r, `fentry on ${fn}`)}; use kprobes or tracepoints instead`;
    return status('fentry', r, detail);
  },
  tpBtf: () => {
    const r = native.feature_trace('tp_btf', 'sched_switch');
    return status('tpBtf', r, r.ok ? 'tp_btf on sched_switch works' : refusal(r, 'tp_btf on sched_switch'));
  },
  tracepoints: () => {
    const tracefs = findTracefs();
    const denied = unreadableTracefs();
    if (denied) {
      const r: NativeProbeResult = { ok: false, errno: 13, opId: 'probe_tracepoint_id', syscall: 'open' };
      return status('tracepoints', r, refusal(r, `tracefs at ${denied}`));
    }
    if (!tracefs) {
      return {
        feature: 'tracepoints',
        supported: false,
        code: 'ENOENT',
        errno: 2,
        op: 'find tracefs',
        detail: 'tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)',
      };
    }
    const r = native.feature_tracepoint(tracefs, 'sched', 'sched_switch');
    return status('tracepoints', r, r.ok ? `tracepoint sched/sched_switch via ${tracefs}` : refusal(r, 'tracepoint'));
  },
  rawTracepoints: () => {
    const r = native.feature_raw_tracepoint('sched_switch');
    return status('rawTracepoints', r, r.ok ? 'raw tracepoint sched_switch works' : refusal(r, 'raw tracepoint'));
  },
  ringbuf: () => {
    const r = native.feature_ringbuf();
    return status('ringbuf', r, r.ok ? 'BPF_MAP_TYPE_RINGBUF can be created' : refusal(r, 'ring buffer map'));
  },
  batchOps: () => {
    const r = native.feature_batch_ops();
    return status('batchOps', r, r.ok ? 'BPF_MAP_LOOKUP_BATCH works' : refusal(r, 'batch map lookup'));
  },
};

const FEATURES = Object.keys(probes) as Feature[];

/** Probe one feature (cached for the life of the process). */
export function probeFeature(feature: Feature): FeatureStatus {
  if (!FEATURES.includes(feature)) {
    throw new BpfArgumentError({ code: 'ERR_BPF_ARG', op: 'probe feature', argument: 'feature', message: `feature: expected one of ${FEATURES.join(', ')}, got ${String(feature)}` });
  }
  let s = cache.get(feature);
  if (!s) {
    s = featureTurnedOff(feature) ?? probes[feature]();
    cache.set(feature, s);
  }
  return s;
}

/** The environment variable that makes features look missing (a comma-separated list of Feature names). */
export const FEATURES_OFF_ENV = 'TRACER_BPF_FEATURES_OFF';

/**
 * A feature turned off by TRACER_BPF_FEATURES_OFF (e.g. "ringbuf,tpBtf"):
 * reported as missing without being tried, so that what a kernel without it
 * does (the next backend, the next transport) can be run on one that has it.
 * An unknown name in the list is an error, not silently ignored.
 */
export function featureTurnedOff(feature: Feature): FeatureStatus | undefined {
  const list = process.env[FEATURES_OFF_ENV];
  if (!list) return undefined;
  const names = list.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const unknown = names.filter((n) => !FEATURES.includes(n as Feature));
  if (unknown.length) {
    throw new BpfArgumentError({ code: 'ERR_BPF_ARG', op: 'probe feature', argument: FEATURES_OFF_ENV, message: `${FEATURES_OFF_ENV}: ${unknown.join(', ')} is not one of ${FEATURES.join(', ')}` });
  }
  if (!names.includes(feature)) return undefined;
  return { feature, supported: false, code: 'EOPNOTSUPP', errno: 95, op: 'probe feature', detail: `${feature} is turned off (${FEATURES_OFF_ENV}=${list})` };
}

/** Probe every feature. */
export function probeFeatures(): Record<Feature, FeatureStatus> {
  const out = {} as Record<Feature, FeatureStatus>;
  for (const f of Object.keys(probes) as Feature[]) out[f] = probeFeature(f);
  return out;
}

/** Forget cached answers (tests, or after mounting tracefs). */
export function resetFeatureCache(): void {
  cache.clear();
}
