// Legacy tracefs probe events a killed process left behind. A kprobe
// attached through tracefs (kprobe_events: our `mode: 'tracefs'` and
// kretprobes with maxActive, or libbpf's own fallback on kernels without the
// kprobe PMU) is an event the kernel keeps until someone writes `-:name`:
// closing the link does that, but a process killed with SIGKILL never closes
// it. The event names carry the creating pid, so an event whose process is
// gone is garbage nobody can use, and is removed here.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { findTracefs } from './tracefs.js';

/** The name the loader gives a legacy kprobe event it creates (unique per process). */
export function legacyEventName(pid: number, seq: number, symbol: string): string {
  return `tracer_bpf_${pid}_${seq}_${symbol.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Ours (`tracer_bpf_<pid>_<seq>_<symbol>`) and libbpf's legacy fallback (`libbpf_<pid>_<symbol>_0x<offset>_<n>`). */
const OWNED = /^(?:tracer_bpf|libbpf)_(\d+)_/;

export interface StaleProbeEvent {
  /** `group/event`, as removed. */
  event: string;
  /** The pid in its name. */
  pid: number;
}

export interface StaleProbeEventsReport {
  /** The tracefs file read and written (dynamic_events, else kprobe_events); undefined without tracefs or either file. */
  file: string | undefined;
  /** Events of processes that no longer exist, removed. */
  removed: StaleProbeEvent[];
  /** Events of gone processes the kernel refused to remove (EBUSY: still attached), with the errno name. */
  failed: (StaleProbeEvent & { code: string })[];
}

/** The dynamic events definitions file of a tracefs root: every probe kind in one (4.17+), else kprobe_events. */
function eventsFile(tracefs: string): string | undefined {
  for (const f of ['dynamic_events', 'kprobe_events']) if (existsSync(`${tracefs}/${f}`)) return `${tracefs}/${f}`;
  return undefined;
}

/** The events of dead processes named as the loader or libbpf name theirs, from the text of a probe events file. */
export function staleProbeEvents(text: string, alive: (pid: number) => boolean): StaleProbeEvent[] {
  const out: StaleProbeEvent[] = [];
  for (const line of text.split('\n')) {
    // "p:kprobes/NAME func+0", "r128:kprobes/NAME func", "p:uprobes/NAME /path:0x..."
    const m = /^[pr]\d*:(\S+)\/(\S+)\s/.exec(line);
    if (!m) continue;
    const own = OWNED.exec(m[2]!);
    if (!own) continue;
    const pid = Number(own[1]);
    if (pid === process.pid || alive(pid)) continue;
    out.push({ event: `${m[1]}/${m[2]}`, pid });
  }
  return out;
}

function processAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/**
 * Find and remove the legacy probe events of processes that are gone (named
 * as this loader or libbpf name them). Nothing to do where tracefs has no
 * probe events file. A pid reused by a new process keeps its events until
 * that process is gone too.
 */
export function removeStaleProbeEvents(opts: { tracefs?: string } = {}): StaleProbeEventsReport {
  const tracefs = opts.tracefs ?? findTracefs();
  const file = tracefs === undefined ? undefined : eventsFile(tracefs);
  const report: StaleProbeEventsReport = { file, removed: [], failed: [] };
  if (!file) return report;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return report;
  }
  for (const e of staleProbeEvents(text, processAlive)) {
    try {
      appendFileSync(file, `-:${e.event}\n`);
      report.removed.push(e);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      // ENOENT: another process removed it first.
      if (code !== 'ENOENT') report.failed.push({ ...e, code });
    }
  }
  return report;
}
