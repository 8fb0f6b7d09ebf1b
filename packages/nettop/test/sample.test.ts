import { describe, expect, it } from 'vitest';
import { matches } from '../src/filter.js';
import { anyLost, lossesOf } from '../src/losses.js';
import { buildSample, byRate, SCHEMA_VERSION, toRow } from '../src/sample.js';
import { clientTimeoutMs } from '../src/top.js';
import { conn, INFO, NO_LOSSES } from './fixtures.js';

describe('filters', () => {
  const c = conn();
  it.each([
    [{}, true],
    [{ protocol: 'tcp' as const }, true],
    [{ protocol: 'udp' as const }, false],
    [{ port: 80 }, true],
    [{ port: 40000 }, true],
    [{ port: 81 }, false],
    [{ pid: 100 }, true],
    [{ pid: 101 }, false],
    [{ netns: 4026531840 }, true],
    [{ netns: 1 }, false],
    [{ protocol: 'tcp' as const, port: 80, pid: 100 }, true],
    [{ protocol: 'tcp' as const, port: 80, pid: 1 }, false],
  ])('%j: %s', (f, want) => expect(matches(c, f)).toBe(want));
});

describe('rows and rates', () => {
  it('rates are the interval delta over its seconds; totals are kept', () => {
    const r = toRow(conn({ sentBytes: 5000, delta: { sentBytes: 1000, recvBytes: 250, sentPackets: 1, recvPackets: 1, retransmits: 0 } }), 4);
    expect(r).toMatchObject({ sentBytes: 5000, intervalSentBytes: 1000, intervalRecvBytes: 250, sendRate: 250, recvRate: 62.5 });
    expect(toRow(conn(), 0).sendRate).toBe(0);
  });

  it('readers that call once an interval are never expired as silent', () => {
    expect(clientTimeoutMs(5000)).toBe(120_000);
    expect(clientTimeoutMs(3_600_000)).toBe(10_800_000);
  });

  it('UDP has no TCP figures; a closed connection says why', () => {
    expect(toRow(conn({ protocol: 'udp', tcp: undefined, closed: 'expired' }), 1)).toMatchObject({ retransmits: null, rttUs: null, state: null, closed: 'expired' });
  });

  it('sorts by rate, then total bytes, then id', () => {
    const slow = toRow(conn({ id: 1n, delta: { sentBytes: 1, recvBytes: 0, sentPackets: 0, recvPackets: 0, retransmits: 0 } }), 1);
    const fast = toRow(conn({ id: 2n, delta: { sentBytes: 0, recvBytes: 9, sentPackets: 0, recvPackets: 0, retransmits: 0 } }), 1);
    const big = toRow(conn({ id: 3n, sentBytes: 10 ** 9, delta: { sentBytes: 1, recvBytes: 0, sentPackets: 0, recvPackets: 0, retransmits: 0 } }), 1);
    expect([slow, fast, big].sort(byRate).map((r) => r.id)).toEqual(['2', '3', '1']);
  });
});

describe('the JSON document (schema 1)', () => {
  it('has the documented fields, filtered and sorted', () => {
    const doc = buildSample({
      connections: [conn({ id: 7n }), conn({ id: 8n, protocol: 'udp', tcp: undefined })],
      intervalSeconds: 1.23456,
      info: INFO,
      losses: NO_LOSSES,
      accuracy: { sockets: 1, maxSentDiffBytes: 0, maxRecvDiffBytes: 0 },
      filter: { protocol: 'tcp' },
      now: new Date(0),
    });
    const parsed = JSON.parse(JSON.stringify(doc));
    expect(Object.keys(parsed)).toEqual(['schema', 'time', 'intervalSeconds', 'tracer', 'losses', 'accuracy', 'connections']);
    expect(parsed).toMatchObject({ schema: SCHEMA_VERSION, time: '1970-01-01T00:00:00.000Z', intervalSeconds: 1.235, tracer: INFO });
    expect(parsed.connections).toHaveLength(1);
    expect(Object.keys(parsed.connections[0]).sort()).toEqual(
      [
        'id', 'protocol', 'family', 'pid', 'command', 'netns', 'localAddress', 'localPort', 'remoteAddress', 'remotePort', 'direction', 'closed', 'state',
        'sentBytes', 'recvBytes', 'sentPackets', 'recvPackets', 'intervalSentBytes', 'intervalRecvBytes', 'sendRate', 'recvRate', 'retransmits', 'rttUs', 'seenLate',
      ].sort(),
    );
    expect(parsed.connections[0]).toMatchObject({ id: '7', command: 'curl', closed: null });
  });
});

describe('losses', () => {
  it('from stats(): kernel counters by name, map fill', () => {
    const stats = {
      kernel: { closedLost: 2n, connStatsFull: 3n, sockStateFull: 4n, readFailed: 5n },
      closedLostSamples: 6,
      closedQueueDropped: 7,
      connections: 8,
      maxConnections: 9,
    } as unknown as Parameters<typeof lossesOf>[0];
    const l = lossesOf(stats);
    expect(l).toEqual({ closedLost: 2, closedLostSamples: 6, closedQueueDropped: 7, connStatsFull: 3, sockStateFull: 4, readFailed: 5, mapEntries: 8, mapCapacity: 9 });
    expect(anyLost(l)).toBe(true);
    expect(anyLost(NO_LOSSES)).toBe(false);
  });
});
