// A process using the tracer ended in the middle of a run (SIGINT, SIGTERM,
// an uncaught exception, SIGKILL): afterwards none of its programs, links or
// maps remain (bpftool, polled while the kernel's RCU-deferred release
// runs), nothing new is pinned, no probe event of it is in tracefs; and
// what a SIGKILL cannot clean (a legacy tracefs probe event) is removed at
// the next start. Host only (root, the real kernel; not run in the QEMU
// guests): the library installs no signal handler, so a signal ends the
// process as it would any other, and the kernel releases its descriptors.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findTracefs, legacyEventName } from '@tracer-bpf/loader';
import { describe, expect, it } from 'vitest';
import { Tracer } from '../src/index.js';
import { run } from './child-process.js';

const CHILD = fileURLToPath(new URL('./children/traced.mjs', import.meta.url));
const BACKENDS = ['tp_btf', 'tracepoint'] as const;
const ENDINGS = ['SIGINT', 'SIGTERM', 'SIGKILL', 'uncaught exception'] as const;

interface Ids {
  progs: number[];
  links: number[];
  maps: number[];
}

/** BPF program, link and map ids a process holds (its fdinfo). */
function idsOf(pid: number): Ids {
  const ids: Ids = { progs: [], links: [], maps: [] };
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const link = /^link_id:\s*(\d+)/m.exec(info);
    const prog = /^prog_id:\s*(\d+)/m.exec(info);
    const map = /^map_id:\s*(\d+)/m.exec(info);
    if (link) ids.links.push(Number(link[1]));
    else if (prog) ids.progs.push(Number(prog[1]));
    else if (map) ids.maps.push(Number(map[1]));
  }
  return ids;
}

/** What the kernel has now, by bpftool. */
function kernelIds(): { progs: Set<number>; links: Set<number>; maps: Set<number> } {
  const ids = (what: string) => {
    const r = spawnSync('bpftool', [what, 'list', '-j'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bpftool ${what} list: ${r.stderr}`);
    return new Set((JSON.parse(r.stdout || '[]') as { id: number }[]).map((p) => p.id));
  };
  return { progs: ids('prog'), links: ids('link'), maps: ids('map') };
}

/** Of `held`, what the kernel still has, polled (released links and programs go after an RCU grace period) for at most `ms`. */
async function leftAfter(held: Ids, ms = 10_000): Promise<Ids> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = kernelIds();
    const left = { progs: held.progs.filter((i) => now.progs.has(i)), links: held.links.filter((i) => now.links.has(i)), maps: held.maps.filter((i) => now.maps.has(i)) };
    if (left.progs.length + left.links.length + left.maps.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every path under the BPF filesystem (pinned objects). */
function pinned(dir = '/sys/fs/bpf'): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? [`${dir}/${d.name}/`, ...pinned(`${dir}/${d.name}`)] : [`${dir}/${d.name}`]));
}

/** The probe events file of tracefs (dynamic_events, else kprobe_events), if any. */
function eventsFile(): string | undefined {
  const t = findTracefs();
  return t === undefined ? undefined : ['dynamic_events', 'kprobe_events'].map((f) => `${t}/${f}`).find((f) => existsSync(f));
}
const events = (): string => {
  const f = eventsFile();
  return f ? readFileSync(f, 'utf8') : '';
};

describe.each(BACKENDS)('a tracer process on backend %s ended in the middle of a run', (backend) => {
  it.each(ENDINGS)('by %s: none of its programs, links or maps remain, nothing pinned, no probe event', async (ending) => {
    const pinnedBefore = pinned();
    const c = run([CHILD, backend]);
    try {
      expect(await c.next()).toMatchObject({ started: backend });
      const held = idsOf(c.child.pid!);
      expect(held.progs.length).toBeGreaterThan(0);
      expect(held.links.length).toBeGreaterThan(0);
      expect(held.maps.length).toBeGreaterThan(0);
      // it traces: its own exchanges are in its snapshots
      const running = await c.next();
      expect(running).toMatchObject({ running: true });
      expect(running.seen).toBeGreaterThan(0);
      const now = kernelIds();
      for (const id of held.links) expect(now.links.has(id)).toBe(true);
      if (ending === 'uncaught exception') c.send('throw');
      else c.child.kill(ending);
      const exit = await c.exited;
      // No handler: a signal ends it as it ends any process; an uncaught exception exits 1.
      if (ending === 'uncaught exception') {
        expect(exit).toEqual({ code: 1, signal: null });
        expect(c.stderr()).toContain('uncaught, on purpose');
      } else {
        expect(exit).toEqual({ code: null, signal: ending });
      }
      expect(await leftAfter(held)).toEqual({ progs: [], links: [], maps: [] });
      expect(pinned()).toEqual(pinnedBefore);
      expect(events()).not.toMatch(new RegExp(`_${c.child.pid}_`));
    } finally {
      c.child.kill('SIGKILL');
    }
  });
});

describe('what a SIGKILL leaves in tracefs', () => {
  // The loader's legacy probe events (kprobe_events) carry the creating pid in their name; this
  // kernel has no kprobes, but its uprobe events live in the same tracefs table (dynamic_events)
  // and are named, listed and removed alike: the cleanup runs on them for real here.
  it.skipIf(!eventsFile()?.endsWith('dynamic_events'))('a probe event of a killed process is removed at the next start; one of a live process stays', async () => {
    const file = eventsFile()!;
    // A process that creates a probe event as the loader names them, then is killed before it can remove it.
    const script = `require('fs').appendFileSync(${JSON.stringify(file)}, 'p:tracer_bpf_test/' + ${JSON.stringify(legacyEventName(0, 1, 'x'))}.replace('_0_', '_' + process.pid + '_') + ' /bin/true:0x0\\n'); console.log('{}'); setInterval(() => {}, 1000);`;
    const killed = run(['-e', script]);
    const live = spawn('sleep', ['60'], { stdio: 'ignore' });
    const deadEvent = `tracer_bpf_test/${legacyEventName(killed.child.pid!, 1, 'x')}`;
    const liveEvent = `tracer_bpf_test/libbpf_${live.pid}_tcp_v4_connect_0x0_0`;
    try {
      await killed.next();
      killed.child.kill('SIGKILL');
      await killed.exited;
      appendFileSync(file, `p:${liveEvent} /bin/true:0x0\n`);
      expect(events()).toContain(deadEvent);
      expect(events()).toContain(liveEvent);
      const t = await Tracer.start({ backend: 'tp_btf' });
      try {
        expect(t.info.staleProbeEvents.removed).toContain(deadEvent);
        expect(t.info.staleProbeEvents.removed).not.toContain(liveEvent);
        expect(t.info.staleProbeEvents.failed).toEqual([]);
      } finally {
        t.close();
      }
      expect(events()).not.toContain(deadEvent);
      expect(events()).toContain(liveEvent);
      // A second start finds nothing more of it.
      const t2 = await Tracer.start({ backend: 'tp_btf' });
      t2.close();
      expect(t2.info.staleProbeEvents.removed).not.toContain(deadEvent);
    } finally {
      killed.child.kill('SIGKILL');
      live.kill('SIGKILL');
      for (const e of [deadEvent, liveEvent]) {
        try {
          appendFileSync(file, `-:${e}\n`);
        } catch {
          // already removed
        }
      }
    }
  });
});
