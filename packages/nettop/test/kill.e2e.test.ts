// nettop killed with SIGKILL in the middle of a run (no handler can run):
// the kernel releases its programs and links with its descriptors, and the
// next nettop starts as if nothing happened. SIGINT and SIGTERM (a clean
// exit 0) are in cli.e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { bpfIdsOf, bpftoolIds, have, nettop, NOT_ROOT } from './e2e.js';

const NO_BPFTOOL = have('bpftool') ? undefined : 'bpftool is not installed';

describe.skipIf(NOT_ROOT || NO_BPFTOOL)(`as root${NOT_ROOT || NO_BPFTOOL ? ` (skipped: ${NOT_ROOT ?? NO_BPFTOOL})` : ''}`, () => {
  it('SIGKILL during --json: none of its programs or links left, and the next run works', async () => {
    const n = nettop(['--json', '--interval', '0.3']);
    await n.waitStdout(/^\{"schema":1,.*\n\{"schema":1,/m);
    const held = bpfIdsOf(n.child.pid!);
    expect(held.progs.length).toBeGreaterThan(0);
    expect(held.links.length).toBeGreaterThan(0);
    n.child.kill('SIGKILL');
    expect(await n.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The kernel frees released links and programs after an RCU grace period: poll, bounded.
    let left = held;
    for (let i = 0; i < 100 && left.progs.length + left.links.length > 0; i++) {
      if (i) await new Promise((r) => setTimeout(r, 100));
      const now = bpftoolIds();
      left = { progs: held.progs.filter((id) => now.progs.has(id)), links: held.links.filter((id) => now.links.has(id)) };
    }
    expect(left).toEqual({ progs: [], links: [] });
    const again = nettop(['--once', '--json', '--interval', '0.2']);
    expect(await again.exited, again.stderr()).toEqual({ code: 0, signal: null });
    expect(JSON.parse(again.stdout())).toMatchObject({ schema: 1 });
  });
});
