// What a SIGKILL leaves behind on a kernel with kprobes: the kprobe backend's
// kretprobes (connect, bind: maxActive) are legacy tracefs events, which
// outlive their process; the next start finds and removes them. This host has
// no kprobes (the test is skipped here: exit.e2e.test.ts runs the same
// cleanup on uprobe events); run it in a guest of the kernel matrix by hand:
//   node tools/vmtest/run.mjs -k 6.12-cloud --suite packages/tracer --filter stale-kprobes
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findTracefs, probeFeature } from '@tracer-bpf/loader';
import { describe, expect, it } from 'vitest';
import { Tracer } from '../src/index.js';
import { run } from './child-process.js';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const KPROBES = probeFeature('kprobes').supported;

function eventsFile(): string {
  const t = findTracefs()!;
  return ['dynamic_events', 'kprobe_events'].map((f) => `${t}/${f}`).find((f) => existsSync(f))!;
}

describe.skipIf(!KPROBES)(`legacy kprobe events of a killed tracer${KPROBES ? '' : ' (skipped: this kernel has no kprobes)'}`, () => {
  it('are left by SIGKILL and removed by the next start', async () => {
    const script = `const { Tracer } = await import(${JSON.stringify(DIST)});
      const t = await Tracer.start({ backend: 'kprobe', maxConnections: 4096 });
      console.log(JSON.stringify({ backend: t.info.backend }));
      setInterval(() => {}, 1000);`;
    const c = run(['--input-type=module', '-e', script]);
    try {
      expect(await c.next()).toEqual({ backend: 'kprobe' });
      const ours = () => readFileSync(eventsFile(), 'utf8').split('\n').filter((l) => l.includes(`tracer_bpf_${c.child.pid}_`));
      const made = ours();
      // the kretprobes with maxActive (connect, bind) are tracefs events: r<N>:kprobes/tracer_bpf_<pid>_...
      expect(made.length).toBeGreaterThan(0);
      c.child.kill('SIGKILL');
      await c.exited;
      // a killed process cannot remove them
      expect(ours()).toEqual(made);
      const t = await Tracer.start({ backend: 'tracepoint', maxConnections: 4096 });
      t.close();
      const names = made.map((l) => /^[pr]\d*:(\S+)/.exec(l)![1]);
      expect([...t.info.staleProbeEvents.removed].sort()).toEqual(expect.arrayContaining(names.sort()));
      expect(t.info.staleProbeEvents.failed).toEqual([]);
      expect(ours()).toEqual([]);
    } finally {
      c.child.kill('SIGKILL');
    }
  });
});
