// nettop on a kernel without the ring buffer and tp_btf (turned off with the
// loader's TRACER_BPF_FEATURES_OFF): it runs on the next backend and
// transport and -v says which and why in one line; doctor says the same.
import { describe, expect, it } from 'vitest';
import { nettop, NOT_ROOT } from './e2e.js';

const env = { ...process.env, NO_COLOR: '1', TRACER_BPF_FEATURES_OFF: 'ringbuf,tpBtf' };

describe.skipIf(NOT_ROOT)(`as root${NOT_ROOT ? ` (skipped: ${NOT_ROOT})` : ''}`, { concurrent: true }, () => {
  it('--once -v: the tracepoint backend on perf batches, said in one line, exit 0', async () => {
    const n = nettop(['--once', '-v', '--json', '--interval', '0.2'], { env });
    expect(await n.exited, n.stderr()).toEqual({ code: 0, signal: null });
    expect(n.stderr()).toMatch(/^nettop: tracing: kernel \S+, backend tracepoint \(auto: fentry: [^\n]+; kprobe: [^\n]+; tp_btf: tp_btf is not available \(tpBtf is turned off[^\n]+\), transport perf \(no ring buffer \(ringbuf is turned off[^\n]+\): per-CPU batches on a perf buffer\), offsets btf\n$/);
    expect(JSON.parse(n.stdout())).toMatchObject({ schema: 1, tracer: { backend: 'tracepoint', transport: 'perf' } });
  });

  it('doctor: start ok on the tracepoint backend and perf, exit 0', async () => {
    const n = nettop(['doctor'], { env });
    expect(await n.exited, n.stderr()).toEqual({ code: 0, signal: null });
    expect(n.stdout().trim().split('\n').at(-1)).toMatch(/^ok +start +backend tracepoint \(auto: .*tp_btf: tp_btf is not available .*\), transport perf \(no ring buffer /);
  });
});
