// The guest's one result line, as the host reads it from the serial console.
import { describe, expect, it } from 'vitest';
import { RESULT_PREFIX, resultLine } from '../lib/boot.mjs';

const result = { v: 1, name: '5.10-cloud', files: { 'packages/tracer/test/tcp.kernel.test.ts [backend fentry]': { passed: 12 } }, failures: [] };
const text = `${RESULT_PREFIX}${JSON.stringify(result)}`;

/** Push console lines; what came out. */
function feed(lines) {
  const a = resultLine();
  const out = lines.map((l) => a.push(l));
  return { a, out, result: out.find((r) => r.result)?.result };
}

describe('the result line', () => {
  it('parses a whole line, and leaves the lines before and after it alone', () => {
    const { out, result: r } = feed(['TRACER_BPF_SUITE_DONE exit=0', text, '[  252.037389] reboot: Power down']);
    expect(r).toEqual(result);
    expect(out.map((o) => o.consumed)).toEqual([false, true, false]);
  });

  it('joins a line that a kernel message cut in two (seen on 5.10 at poweroff)', () => {
    const cut = text.indexOf('/tcp.kernel');
    const { a, result: r } = feed([`${text.slice(0, cut)}[  252.037389] reboot: Power down`, text.slice(cut)]);
    expect(r).toEqual(result);
    expect(a.error).toBeNull();
  });

  it('joins it when the message came on a line of its own too', () => {
    const cut = text.indexOf('"files"');
    const { result: r } = feed([text.slice(0, cut), '[    3.100000] random: crng init done', text.slice(cut)]);
    expect(r).toEqual(result);
  });

  it('says why when the line never completes', () => {
    const { a, result: r } = feed([text.slice(0, 40)]);
    expect(r).toBeUndefined();
    expect(a.error).toMatch(/^unparsable result line \(.+\): \{"v":1/);
  });

  it('finds the prefix after other text on the line (console noise before it)', () => {
    const { result: r } = feed([`garbage ${text}`]);
    expect(r).toEqual(result);
  });
});
