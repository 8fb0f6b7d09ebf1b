// More connections than the tracer's maps hold (--max-connections): nettop
// keeps sampling and says what did not fit, in the JSON losses and the
// table header's "map full".
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { listen, nettop, NOT_ROOT } from './e2e.js';

const MAX = 32;

describe.skipIf(NOT_ROOT)(`as root${NOT_ROOT ? ` (skipped: ${NOT_ROOT})` : ''}`, () => {
  it.each([
    // a sample, then one that counts sockets that did not fit
    ['JSON', ['--json'], /^\{"schema":1,.*\n/m, /^(\{"schema":1,.*"sockStateFull":[1-9].*)\n/m],
    ['the table', [], /^lost: .*$/m, /^(lost: .*map full \d+\/[1-9].*)$/m],
  ] as const)(`%s: ${2 * MAX} connections past --max-connections ${MAX} are counted as map full, nettop keeps running`, async (_what, args, sample, full) => {
    const n = nettop([...args, '--interval', '0.3', '--max-connections', String(MAX), '--proto', 'tcp']);
    const srv = net.createServer((s) => s.on('error', () => {}));
    const port = await listen(srv);
    const clients: net.Socket[] = [];
    try {
      // the first sample: nettop has attached
      await n.waitStdout(sample);
      for (let i = 0; i < 2 * MAX; i++) {
        const c = net.connect(port, '127.0.0.1');
        c.on('error', () => {});
        clients.push(c);
        await new Promise((r) => c.once('connect', r));
        c.write('x');
      }
      // a later sample counts what did not fit (2 sockets a connection: far past the map)
      const line = (await n.waitStdout(full))[1]!;
      if (args.length) {
        const doc = JSON.parse(line) as { losses: { sockStateFull: number; mapCapacity: number; mapEntries: number } };
        expect(doc.losses.mapCapacity).toBe(MAX);
        expect(doc.losses.sockStateFull).toBeGreaterThanOrEqual(MAX);
        expect(doc.losses.mapEntries).toBeLessThanOrEqual(2 * MAX);
      } else {
        const full = /map full (\d+)\/(\d+)/.exec(line);
        expect(full, line).not.toBeNull();
        expect(Number(full![2])).toBeGreaterThanOrEqual(MAX);
        expect(line).toMatch(new RegExp(`map \\d+/${MAX} `));
      }
      expect(n.child.exitCode).toBeNull();
      n.child.kill('SIGTERM');
      expect(await n.exited, n.stderr()).toEqual({ code: 0, signal: null });
    } finally {
      n.child.kill('SIGKILL');
      for (const c of clients) c.destroy();
      srv.close();
    }
  });
});
