// `nettop doctor`: what tracing needs on this host, one check a line, and
// which backend, transport and offset source a start would use.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { type Capabilities, type Feature, type FeatureStatus, findTracefs, probeFeature, readCapabilities } from '@tracer-bpf/loader';
import { type ResolvedOffsets, resolveOffsets } from '@tracer-bpf/offsetguess';
import { Tracer, type TracerInfo, type TracerOptions } from '@tracer-bpf/tracer';
import { classifyError } from './exit-codes.js';

export type CheckStatus = 'ok' | 'warn' | 'FAIL';

export interface Check {
  name: string;
  /** FAIL: tracing cannot run; warn: it runs, without this. */
  status: CheckStatus;
  detail: string;
}

export function privilegeCheck(caps: Capabilities): Check {
  const have = [caps.bpf && 'CAP_BPF', caps.perfmon && 'CAP_PERFMON', caps.sysAdmin && 'CAP_SYS_ADMIN'].filter(Boolean).join(' ') || 'no BPF capability';
  if (caps.tracing) return { name: 'privilege', status: 'ok', detail: `uid ${caps.uid}: ${have}` };
  return { name: 'privilege', status: 'FAIL', detail: `uid ${caps.uid} has ${have}: tracing needs root or CAP_BPF+CAP_PERFMON` };
}

/** /proc/sys/kernel/unprivileged_bpf_disabled: only matters without the capabilities (and tracing programs never load unprivileged). */
export function unprivilegedBpfCheck(value: string | undefined, caps: Capabilities): Check {
  const v = value?.trim() ?? 'unknown';
  return { name: 'unprivileged bpf', status: 'ok', detail: `kernel.unprivileged_bpf_disabled=${v}${caps.tracing ? ' (irrelevant: this process has the capabilities)' : ' (tracing needs the capabilities whatever it says)'}` };
}

/** /sys/kernel/security/lockdown, e.g. "none [integrity] confidentiality": confidentiality forbids BPF reads of kernel memory. */
export function lockdownCheck(text: string | undefined): Check {
  if (text === undefined) return { name: 'lockdown', status: 'ok', detail: 'no lockdown LSM (/sys/kernel/security/lockdown absent)' };
  const mode = /\[(\w+)\]/.exec(text)?.[1] ?? text.trim();
  if (mode === 'confidentiality') return { name: 'lockdown', status: 'FAIL', detail: 'lockdown=confidentiality: the kernel refuses BPF reads of kernel memory (boot with lockdown=integrity or none)' };
  return { name: 'lockdown', status: 'ok', detail: `lockdown=${mode}` };
}

export function btfCheck(present: boolean): Check {
  return present
    ? { name: 'kernel BTF', status: 'ok', detail: '/sys/kernel/btf/vmlinux' }
    : { name: 'kernel BTF', status: 'warn', detail: 'no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF): fentry and tp_btf cannot run, and struct offsets are guessed at start (see the offsets check)' };
}

/**
 * The struct offsets a start would use, checked: with kernel BTF, guessed as well and
 * compared field by field (a difference is a warning: BTF is what the tracer uses); without
 * it, guessed (a failed guess means tracing cannot run: FAIL).
 */
export function offsetsCheck(r: ResolvedOffsets | Error, btfPresent: boolean): Check {
  const name = 'offsets';
  if (r instanceof Error) {
    return btfPresent
      ? { name, status: 'warn', detail: `kernel BTF gives them; guessing to verify them failed: ${r.message}` }
      : { name, status: 'FAIL', detail: `no kernel BTF and guessing failed: ${r.message}` };
  }
  const n = r.fields.filter((f) => f.value !== undefined).length;
  const missing = r.fields.filter((f) => f.value === undefined).map((f) => f.field);
  const ms = r.guessMs === undefined ? '' : ` in ${Math.round(r.guessMs)} ms`;
  const lacking = missing.length ? `; not found: ${missing.join(', ')}` : '';
  if (!r.differences) return { name, status: 'ok', detail: `${n} fields guessed${ms} (${r.reason})${lacking}` };
  // Fields this kernel cannot guess (the function hooks' without kprobes, say) are not wrong ones.
  const wrong = r.differences.filter((d) => d.guess !== undefined);
  const notGuessed = r.differences.filter((d) => d.guess === undefined).map((d) => d.field);
  const skipped = notGuessed.length ? `; not guessed here: ${notGuessed.join(', ')}` : '';
  if (wrong.length) return { name, status: 'warn', detail: `kernel BTF (used); the guess differs on ${wrong.map((d) => d.field).join(', ')} (nettop doctor -v lists them)${skipped}` };
  return { name, status: 'ok', detail: `kernel BTF (used), and a guess${ms} agrees on every field it found${skipped}` };
}

export function tracefsCheck(path: string | undefined): Check {
  return path
    ? { name: 'tracefs', status: 'ok', detail: path }
    : { name: 'tracefs', status: 'warn', detail: 'not mounted (mount -t tracefs nodev /sys/kernel/tracing): the classic tracepoint backend cannot run' };
}

/** "Max locked memory" of /proc/self/limits: BPF memory is charged to the memory cgroup since 5.11, before that to RLIMIT_MEMLOCK. */
export function memlockCheck(limits: string | undefined, kernel: string): Check {
  const soft = limits ? /^Max locked memory\s+(\S+)/m.exec(limits)?.[1] : undefined;
  const [major = 0, minor = 0] = kernel.split(/[.-]/).map(Number);
  const memcg = major > 5 || (major === 5 && minor >= 11);
  const limit = soft === undefined ? 'unknown' : soft === 'unlimited' ? 'unlimited' : `${Math.round(Number(soft) / 1024)} KiB`;
  if (memcg) return { name: 'memlock', status: 'ok', detail: `RLIMIT_MEMLOCK ${limit} (not used for BPF maps: kernel ${kernel} charges the memory cgroup)` };
  if (soft === 'unlimited') return { name: 'memlock', status: 'ok', detail: 'RLIMIT_MEMLOCK unlimited' };
  return { name: 'memlock', status: 'warn', detail: `RLIMIT_MEMLOCK ${limit} on kernel ${kernel} (maps are charged to it before 5.11): raise it (ulimit -l unlimited) if loading fails with EPERM` };
}

/** What each probed feature means for nettop: needed ones FAIL, the others warn. */
const FEATURES: readonly { feature: Feature; name: string; without: string }[] = [
  { feature: 'fentry', name: 'fentry', without: 'the fentry backend cannot run (kprobe or tracepoint backends instead)' },
  { feature: 'kprobes', name: 'kprobes', without: 'the kprobe backend cannot run (tracepoint backends instead)' },
  { feature: 'tpBtf', name: 'tp_btf', without: 'the tp_btf and fentry backends cannot run' },
  { feature: 'tracepoints', name: 'tracepoints', without: 'the tracepoint backend cannot run' },
  { feature: 'ringbuf', name: 'ring buffer', without: 'close records go over a perf buffer' },
  { feature: 'batchOps', name: 'batch map ops', without: 'maps are read an entry at a time' },
];

export function featureCheck(name: string, s: FeatureStatus, without: string): Check {
  return s.supported ? { name, status: 'ok', detail: s.detail } : { name, status: 'warn', detail: `${s.detail}: ${without}` };
}

/** Neither tracepoint kind works: no backend (fentry needs tp_btf for its lifecycle, kprobe classic tracepoints). */
export function backendsCheck(tpBtf: boolean, tracepoints: boolean): Check | undefined {
  if (tpBtf || tracepoints) return undefined;
  return { name: 'backends', status: 'FAIL', detail: 'neither tp_btf nor classic tracepoints work here: no backend can run' };
}

export function startCheck(info: TracerInfo): Check {
  return {
    name: 'start',
    status: 'ok',
    detail: `backend ${info.backend} (${info.backendReason}), transport ${info.transport} (${info.transportReason}), offsets ${info.offsets}, kernel reads ${info.kernelReads}`,
  };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export interface DoctorReport {
  checks: Check[];
  /** Every offset, where it came from and how it was verified (resolveOffsets' explanation); undefined when none was resolved. */
  offsets: string | undefined;
}

/** Every check, the offsets and the start last (a real Tracer.start, closed at once). */
export async function runDoctor(opts: Pick<TracerOptions, 'backend' | 'offsets'>): Promise<DoctorReport> {
  const caps = readCapabilities();
  const kernel = release();
  const btfPresent = existsSync('/sys/kernel/btf/vmlinux');
  const checks: Check[] = [
    { name: 'kernel', status: 'ok', detail: kernel },
    privilegeCheck(caps),
    unprivilegedBpfCheck(readText('/proc/sys/kernel/unprivileged_bpf_disabled'), caps),
    lockdownCheck(readText('/sys/kernel/security/lockdown')),
    btfCheck(btfPresent),
    tracefsCheck(findTracefs()),
    memlockCheck(readText('/proc/self/limits'), kernel),
  ];
  const probed = new Map<Feature, FeatureStatus>();
  for (const f of FEATURES) {
    const s = probeFeature(f.feature);
    probed.set(f.feature, s);
    checks.push(featureCheck(f.name, s, f.without));
  }
  const none = backendsCheck(probed.get('tpBtf')?.supported === true, probed.get('tracepoints')?.supported === true);
  if (none) checks.push(none);
  let offsets: string | undefined;
  if (typeof opts.offsets === 'object') checks.push({ name: 'offsets', status: 'ok', detail: 'given (--offsets FILE): not checked against this kernel' });
  else if (caps.tracing) {
    // Guessing runs whatever --offsets says: with BTF it verifies BTF, without it it is what a start does.
    const r = await resolveOffsets({ source: btfPresent ? 'verify' : 'guess' }).catch((e: Error) => e);
    checks.push(offsetsCheck(r, btfPresent));
    if (!(r instanceof Error)) offsets = r.explanation;
  }
  try {
    const tracer = await Tracer.start(opts);
    try {
      checks.push(startCheck(tracer.info));
    } finally {
      tracer.close();
    }
  } catch (e) {
    checks.push({ name: 'start', status: 'FAIL', detail: classifyError(e).message });
  }
  return { checks, offsets };
}

/** One line a check: status, name, detail. */
export function renderChecks(checks: readonly Check[]): string {
  const w = Math.max(...checks.map((c) => c.name.length));
  return checks.map((c) => `${c.status.padEnd(4)}  ${c.name.padEnd(w)}  ${c.detail}\n`).join('');
}

export const canTrace = (checks: readonly Check[]): boolean => checks.every((c) => c.status !== 'FAIL');
