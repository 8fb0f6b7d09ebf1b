// Prometheus series with bounded labels and counters that never go down:
// running totals fed by a connections() client of the exporter's own, so a
// connection that closes keeps its bytes in its series' totals.
import type { ClientConnection, Connection, TracerInfo } from '@tracer-bpf/tracer';
import type { Accuracy } from './accuracy.js';
import type { Losses } from './losses.js';
import type { MetricFamily, Sample } from './openmetrics.js';

/** The tracer client the exporter reads with (independent of the table's). */
export const EXPORTER_CLIENT = 'prometheus';

/**
 * A connection's series: protocol, direction and the local port when it is
 * a service port (incoming connections: the port the host listens or is
 * bound on), else "ephemeral". No addresses, no ephemeral ports: at most
 * 2 protocols x 3 directions x (service ports in use + 1) series a metric.
 */
export function seriesLabels(c: Pick<Connection, 'protocol' | 'direction' | 'localPort'>): { protocol: string; direction: string; local_port: string } {
  return { protocol: c.protocol, direction: c.direction, local_port: c.direction === 'incoming' ? String(c.localPort) : 'ephemeral' };
}

interface Series {
  labels: Readonly<Record<string, string>>;
  /** Sums of deltas: numbers, exact up to 2^53 (8 PiB; OpenMetrics samples are doubles anyway). */
  sentBytes: number;
  recvBytes: number;
  retransmits: number;
  closed: number;
  live: number;
}

const nonNegative = (n: number): number => (n > 0 ? n : 0);

/** Loss counters, as exported (`reason` label) from the Losses of a sample. */
const LOSS_REASONS: readonly [string, (l: Losses) => number][] = [
  ['close_record_ring_full', (l) => l.closedLost],
  ['close_record_perf_sample', (l) => l.closedLostSamples],
  ['reader_queue_full', (l) => l.closedQueueDropped],
  ['conn_map_full', (l) => l.connStatsFull],
  ['sock_map_full', (l) => l.sockStateFull],
  ['read_failed', (l) => l.readFailed],
];

export class Exporter {
  readonly #series = new Map<string, Series>();
  /** Highest value seen per loss reason: exported counters never go down (a reader's queue drops leave with it). */
  readonly #lost = new Map<string, number>();
  #collections = 0;

  /** Add one connections() call's deltas (live and closed connections alike) to the running totals. */
  add(conns: Iterable<ClientConnection>): void {
    for (const s of this.#series.values()) s.live = 0;
    for (const c of conns) {
      const labels = seriesLabels(c);
      const key = `${labels.protocol} ${labels.direction} ${labels.local_port}`;
      let s = this.#series.get(key);
      if (!s) {
        s = { labels, sentBytes: 0, recvBytes: 0, retransmits: 0, closed: 0, live: 0 };
        this.#series.set(key, s);
      }
      s.sentBytes += nonNegative(c.delta.sentBytes);
      s.recvBytes += nonNegative(c.delta.recvBytes);
      s.retransmits += nonNegative(c.delta.retransmits);
      if (c.closed !== undefined) s.closed++;
      else s.live++;
    }
    this.#collections++;
  }

  noteLosses(l: Losses): void {
    for (const [reason, get] of LOSS_REASONS) this.#lost.set(reason, Math.max(this.#lost.get(reason) ?? 0, get(l)));
  }

  get collections(): number {
    return this.#collections;
  }

  /** Every family, series in a stable order. */
  families(info: Pick<TracerInfo, 'kernel' | 'backend' | 'transport' | 'offsets'>, losses: Losses, accuracy: Accuracy | null): MetricFamily[] {
    this.noteLosses(losses);
    const series = [...this.#series.values()].sort((a, b) => {
      const x = a.labels;
      const y = b.labels;
      return `${x.protocol} ${x.direction}`.localeCompare(`${y.protocol} ${y.direction}`) || Number(x.local_port === 'ephemeral') - Number(y.local_port === 'ephemeral') || Number(x.local_port) - Number(y.local_port);
    });
    const per = (get: (s: Series) => number): Sample[] => series.map((s) => ({ labels: s.labels, value: get(s) }));
    const families: MetricFamily[] = [
      { name: 'nettop_sent_bytes', type: 'counter', unit: 'bytes', help: 'Bytes sent by connections of this series (closed ones included).', samples: per((s) => s.sentBytes) },
      { name: 'nettop_received_bytes', type: 'counter', unit: 'bytes', help: 'Bytes received by connections of this series (closed ones included).', samples: per((s) => s.recvBytes) },
      { name: 'nettop_retransmits', type: 'counter', help: 'TCP segments retransmitted by connections of this series.', samples: per((s) => s.retransmits) },
      { name: 'nettop_connections_closed', type: 'counter', help: 'Connections of this series that closed (TCP destroyed or failed, UDP flows expired).', samples: per((s) => s.closed) },
      { name: 'nettop_connections', type: 'gauge', help: 'Live connections of this series at the last collection.', samples: per((s) => s.live) },
      {
        name: 'nettop_lost',
        type: 'counter',
        help: 'What the tracer lost or could not count since nettop started, by reason.',
        samples: LOSS_REASONS.map(([reason]) => ({ labels: { reason }, value: this.#lost.get(reason) ?? 0 })),
      },
      { name: 'nettop_map_entries', type: 'gauge', help: "Entries in the tracer's connection maps.", samples: [{ labels: {}, value: losses.mapEntries }] },
      { name: 'nettop_map_capacity', type: 'gauge', help: "Capacity of the tracer's connection maps.", samples: [{ labels: {}, value: losses.mapCapacity }] },
      {
        name: 'nettop_tracer',
        type: 'info',
        help: 'The tracer in use: kernel release, backend, transport, offset source.',
        samples: [{ labels: { kernel: info.kernel, backend: info.backend, transport: info.transport, offsets: info.offsets }, value: 1 }],
      },
    ];
    if (accuracy) {
      families.push(
        {
          name: 'nettop_accuracy_max_diff_bytes',
          type: 'gauge',
          unit: 'bytes',
          help: "Worst absolute difference between nettop's TCP byte counters and the kernel's (TCP_INFO via ss) over live sockets.",
          samples: [
            { labels: { direction: 'sent' }, value: accuracy.maxSentDiffBytes },
            { labels: { direction: 'received' }, value: accuracy.maxRecvDiffBytes },
          ],
        },
        { name: 'nettop_accuracy_sockets', type: 'gauge', help: 'Live TCP sockets the accuracy figure compared.', samples: [{ labels: {}, value: accuracy.sockets }] },
      );
    }
    return families;
  }
}
