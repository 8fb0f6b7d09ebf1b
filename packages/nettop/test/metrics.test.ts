import { describe, expect, it } from 'vitest';
import { Exporter, seriesLabels } from '../src/exporter.js';
import { negotiate, renderOpenMetrics, renderPrometheusText, type MetricFamily } from '../src/openmetrics.js';
import { conn, INFO, NO_LOSSES } from './fixtures.js';

const FAMILIES: MetricFamily[] = [
  { name: 'x_sent_bytes', type: 'counter', unit: 'bytes', help: 'Sent "bytes"\\ all', samples: [{ labels: { a: 'q"\\\n' }, value: 12 }] },
  { name: 'x_live', type: 'gauge', help: 'Live.', samples: [{ labels: {}, value: 1.5 }] },
  { name: 'x_build', type: 'info', help: 'Build.', samples: [{ labels: { v: '1' }, value: 1 }] },
];

describe('OpenMetrics rendering', () => {
  it('metadata, _total / _info samples, escaping, # EOF last', () => {
    expect(renderOpenMetrics(FAMILIES)).toBe(
      [
        '# TYPE x_sent_bytes counter',
        '# UNIT x_sent_bytes bytes',
        '# HELP x_sent_bytes Sent \\"bytes\\"\\\\ all',
        'x_sent_bytes_total{a="q\\"\\\\\\n"} 12',
        '# TYPE x_live gauge',
        '# HELP x_live Live.',
        'x_live 1.5',
        '# TYPE x_build info',
        '# HELP x_build Build.',
        'x_build_info{v="1"} 1',
        '# EOF',
        '',
      ].join('\n'),
    );
  });

  it('the classic text format names counters <name>_total, has no UNIT and no EOF', () => {
    const t = renderPrometheusText(FAMILIES);
    expect(t).toContain('# TYPE x_sent_bytes_total counter\nx_sent_bytes_total{');
    expect(t).toContain('# TYPE x_build_info gauge');
    expect(t).not.toMatch(/# (UNIT|EOF)/);
  });

  it('refuses bad names', () => {
    expect(() => renderOpenMetrics([{ name: 'a_total', type: 'counter', help: '', samples: [] }])).toThrow(/_total/);
    expect(() => renderOpenMetrics([{ name: 'a_x', type: 'gauge', unit: 'bytes', help: '', samples: [] }])).toThrow(/unit/);
    expect(() => renderOpenMetrics([{ name: '1a', type: 'gauge', help: '', samples: [] }])).toThrow(/not valid/);
  });

  it('negotiates: OpenMetrics unless only the text format is asked for', () => {
    expect(negotiate(undefined)).toBe('openmetrics');
    expect(negotiate('*/*')).toBe('openmetrics');
    expect(negotiate('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5')).toBe('openmetrics');
    expect(negotiate('text/plain;version=0.0.4')).toBe('text');
  });
});

describe('exporter', () => {
  it('labels: service port for incoming, "ephemeral" otherwise', () => {
    expect(seriesLabels({ protocol: 'tcp', direction: 'incoming', localPort: 443 })).toEqual({ protocol: 'tcp', direction: 'incoming', local_port: '443' });
    expect(seriesLabels({ protocol: 'udp', direction: 'outgoing', localPort: 51234 })).toEqual({ protocol: 'udp', direction: 'outgoing', local_port: 'ephemeral' });
    expect(seriesLabels({ protocol: 'tcp', direction: 'unknown', localPort: 51234 }).local_port).toBe('ephemeral');
  });

  const delta = (sent: number, recv: number, retransmits = 0) => ({ sentBytes: sent, recvBytes: recv, sentPackets: 0, recvPackets: 0, retransmits });
  const value = (text: string, sample: string): number => Number(new RegExp(`^${sample.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);

  it('sums deltas into series; closed connections stay in the totals; counters never go down', () => {
    const e = new Exporter();
    const out = (l = NO_LOSSES) => renderOpenMetrics(e.families(INFO, l, null));
    e.add([conn({ localPort: 50001, delta: delta(100, 10) }), conn({ localPort: 50002, delta: delta(50, 5, 1) })]);
    const S = 'nettop_sent_bytes_total{protocol="tcp",direction="outgoing",local_port="ephemeral"}';
    let t = out();
    expect(value(t, S)).toBe(150);
    expect(value(t, 'nettop_retransmits_total{protocol="tcp",direction="outgoing",local_port="ephemeral"}')).toBe(1);
    expect(value(t, 'nettop_connections{protocol="tcp",direction="outgoing",local_port="ephemeral"}')).toBe(2);
    // One closes (its final delta), the other is gone: the totals stay.
    e.add([conn({ localPort: 50001, closed: 'destroyed', delta: delta(7, 0) })]);
    t = out();
    expect(value(t, S)).toBe(157);
    expect(value(t, 'nettop_connections_closed_total{protocol="tcp",direction="outgoing",local_port="ephemeral"}')).toBe(1);
    expect(value(t, 'nettop_connections{protocol="tcp",direction="outgoing",local_port="ephemeral"}')).toBe(0);
    e.add([]);
    expect(value(out(), S)).toBe(157);
    // A negative delta (a counter reset) is not subtracted.
    e.add([conn({ localPort: 50003, delta: delta(-5, 0) })]);
    expect(value(out(), S)).toBe(157);
  });

  it('one series a service port, loss counters that never go down, info and accuracy', () => {
    const e = new Exporter();
    e.add([conn({ direction: 'incoming', localPort: 8080, delta: delta(1, 2) }), conn({ protocol: 'udp', tcp: undefined, direction: 'incoming', localPort: 53, delta: delta(3, 4) })]);
    const t = renderOpenMetrics(e.families(INFO, { ...NO_LOSSES, closedQueueDropped: 5 }, { sockets: 2, maxSentDiffBytes: 0, maxRecvDiffBytes: 3 }));
    expect(value(t, 'nettop_received_bytes_total{protocol="tcp",direction="incoming",local_port="8080"}')).toBe(2);
    expect(value(t, 'nettop_received_bytes_total{protocol="udp",direction="incoming",local_port="53"}')).toBe(4);
    expect(value(t, 'nettop_lost_total{reason="reader_queue_full"}')).toBe(5);
    expect(value(t, 'nettop_map_entries')).toBe(10);
    expect(value(t, 'nettop_tracer_info{kernel="6.18.0",backend="tp_btf",transport="ringbuf",offsets="btf"}')).toBe(1);
    expect(value(t, 'nettop_accuracy_max_diff_bytes{direction="received"}')).toBe(3);
    expect(value(t, 'nettop_accuracy_sockets')).toBe(2);
    // The reader's drops went away with it: the exported counter stays.
    const again = renderOpenMetrics(e.families(INFO, NO_LOSSES, null));
    expect(value(again, 'nettop_lost_total{reason="reader_queue_full"}')).toBe(5);
    expect(again).not.toContain('nettop_accuracy');
  });
});
