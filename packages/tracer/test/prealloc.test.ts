// mapPrealloc's rule, per kernel release of the test matrix (5.10, 6.1,
// 6.1-rt, 6.12) and this host's: which kernels get maps allocated at run
// time under 'auto', and where false is refused. The maps themselves are
// checked on the running kernel in start.kernel.test.ts.
import { describe, expect, it } from 'vitest';
import { choosePrealloc, kernelVersion } from '../src/tracer.js';

describe('mapPrealloc', () => {
  it('reads major.minor from a kernel release', () => {
    expect(kernelVersion('5.10.0-32-cloud-amd64')).toEqual([5, 10]);
    expect(kernelVersion('6.1.0-50-rt-amd64')).toEqual([6, 1]);
    expect(kernelVersion('6.18.44-fc-v1045')).toEqual([6, 18]);
    expect(kernelVersion('weird')).toBeUndefined();
  });

  it("'auto': run-time allocation on 6.1+ without PREEMPT_RT only, with the reason", () => {
    expect(choosePrealloc('auto', '5.10.0-32-cloud-amd64', false)).toEqual({ prealloc: true, reason: expect.stringMatching(/older than 6\.1/) });
    expect(choosePrealloc(undefined, '6.0.9', false).prealloc).toBe(true);
    expect(choosePrealloc('auto', '6.1.0-50-cloud-amd64', false)).toEqual({ prealloc: false, reason: expect.stringMatching(/6\.1\+/) });
    expect(choosePrealloc('auto', '6.1.0-50-rt-amd64', true)).toEqual({ prealloc: true, reason: expect.stringMatching(/PREEMPT_RT/) });
    expect(choosePrealloc('auto', '6.12.95+deb12-cloud-amd64', false).prealloc).toBe(false);
    expect(choosePrealloc('auto', '7.0.1', false).prealloc).toBe(false);
    expect(choosePrealloc('auto', 'weird', false).prealloc).toBe(true);
  });

  it('forced: true anywhere; false on 6.1+ (PREEMPT_RT too), refused before with the reason', () => {
    expect(choosePrealloc(true, '6.12.1', false)).toEqual({ prealloc: true, reason: 'forced by the mapPrealloc option' });
    expect(choosePrealloc(false, '6.1.0-50-rt-amd64', true)).toEqual({ prealloc: false, reason: 'forced by the mapPrealloc option' });
    expect(() => choosePrealloc(false, '5.10.0-32-cloud-amd64', false)).toThrow(/mapPrealloc false needs a 6\.1\+ kernel .*5\.10\.0-32-cloud-amd64/);
    expect(() => choosePrealloc('no' as never, '6.1.0', false)).toThrow(/mapPrealloc: expected true, false or 'auto', got no/);
  });
});
