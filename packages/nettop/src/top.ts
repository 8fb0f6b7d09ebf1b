// nettop itself: sample the tracer every interval and print a table or JSON,
// and/or serve the Prometheus endpoint, until --once is done or `signal` aborts.
import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ConnectionList, Tracer } from '@tracer-bpf/tracer';
import { type Accuracy, compareAccuracy } from './accuracy.js';
import type { CliOptions } from './args.js';
import { colors, wantColor } from './color.js';
import { CannotTraceError, missingPrivilege } from './exit-codes.js';
import { EXPORTER_CLIENT, Exporter } from './exporter.js';
import { renderHeader } from './header.js';
import { type Io, say } from './io.js';
import { lossesOf } from './losses.js';
import { loadOffsets } from './offsets.js';
import { renderOpenMetrics, renderPrometheusText } from './openmetrics.js';
import { buildSample, type SampleDoc } from './sample.js';
import { type MetricsServer, startMetricsServer } from './server.js';
import { readSs } from './ss.js';
import { renderTable } from './table.js';

/** The table's and JSON's tracer client. */
const TABLE_CLIENT = 'nettop';

/** How long the tracer keeps a silent reader: its default (2 min), or three intervals when that is longer. */
export function clientTimeoutMs(intervalMs: number): number {
  return Math.max(120_000, 3 * intervalMs);
}

/** The text of one sample: a JSON line, or the header and table (cleared and redrawn on a terminal). */
export function renderSample(doc: SampleDoc, opts: Pick<CliOptions, 'json'>, io: Io): string {
  if (opts.json) return `${JSON.stringify(doc)}\n`;
  const tty = io.stdout.isTTY === true;
  // A terminal of unknown size (a pty nobody sized) says 0 columns.
  const width = io.stdout.columns || Number(io.env.COLUMNS) || 160;
  const c = colors(wantColor(io.stdout.isTTY, io.env));
  let rows = doc.connections;
  let more = '';
  // On a terminal the table fits the screen: header (2), titles (1), "more" (1).
  const room = tty && io.stdout.rows ? Math.max(1, io.stdout.rows - 4) : Infinity;
  if (rows.length > room) {
    more = `… ${rows.length - room} more\n`;
    rows = rows.slice(0, room);
  }
  const lines = [...renderHeader(doc, width, c), ...renderTable(rows, width, c)];
  return `${tty ? '\x1b[H\x1b[2J' : ''}${lines.join('\n')}\n${more}${tty ? '' : '\n'}`;
}

export async function runTop(opts: CliOptions, io: Io, signal: AbortSignal): Promise<void> {
  const offsets = loadOffsets(opts.offsets);
  const missing = missingPrivilege();
  if (missing) throw new CannotTraceError(missing);
  // Our readers call once an interval: the tracer must not expire them as silent in between.
  const tracer = await Tracer.start({
    backend: opts.backend,
    offsets,
    clientTimeoutMs: clientTimeoutMs(opts.intervalMs),
    ...(opts.maxConnections !== undefined && { maxConnections: opts.maxConnections }),
  });
  let server: MetricsServer | undefined;
  try {
    const { info } = tracer;
    const netns = statSync('/proc/self/ns/net').ino;
    let accuracy: Accuracy | null = null;
    const printing = !opts.prometheus || opts.table || opts.json;

    const exporter = opts.prometheus ? new Exporter() : undefined;
    /** Feed the exporter (at every scrape and every interval); what it read, for the accuracy figure. */
    const collect = (): ConnectionList => {
      const conns = tracer.connections({ client: EXPORTER_CLIENT });
      exporter?.add(conns);
      return conns;
    };
    if (opts.prometheus && exporter) {
      collect();
      const at = opts.prometheus;
      server = await startMetricsServer(at, async (format) => {
        if (tracer.closed) throw new Error('the tracer is closed');
        collect();
        const families = exporter.families(info, lossesOf(tracer.stats()), accuracy);
        return format === 'openmetrics' ? renderOpenMetrics(families) : renderPrometheusText(families);
      }).catch((e: unknown) => {
        throw new Error(`--prometheus ${at.host ?? ''}:${at.port}: ${(e as Error).message}`);
      });
      if (opts.verbose) say(io, `serving ${server.url}`);
    }

    // The first call is the baseline: the first sample's rates are over its own interval.
    if (printing) tracer.connections({ client: TABLE_CLIENT });
    // Said once the first sample's interval has begun: what moves from here on is in it.
    if (opts.verbose) say(io, `tracing: kernel ${info.kernel}, backend ${info.backend} (${info.backendReason}), transport ${info.transport} (${info.transportReason}), offsets ${info.offsets}`);
    let last = performance.now();
    while (!signal.aborted) {
      try {
        await sleep(opts.intervalMs, undefined, { signal });
      } catch {
        break;
      }
      const exported = exporter ? collect() : undefined;
      // The exporter's list goes stale at the next scrape (a call of its client), which may come
      // while ss is read below: copied. The table's client is called only here.
      const conns = printing ? tracer.connections({ client: TABLE_CLIENT }) : exported!.toObjects();
      const now = performance.now();
      const seconds = (now - last) / 1000;
      last = now;
      const ss = await readSs();
      accuracy = ss ? compareAccuracy(conns, ss, netns) : null;
      if (printing) {
        const doc = buildSample({ connections: conns, intervalSeconds: seconds, info, losses: lossesOf(tracer.stats()), accuracy, filter: opts.filter, now: new Date() });
        io.stdout.write(renderSample(doc, opts, io));
      }
      if (opts.once) break;
    }
  } finally {
    await server?.close();
    tracer.close();
  }
}
