// Metric families rendered as OpenMetrics 1.0 text, or as the classic
// Prometheus text format 0.0.4 for clients that ask for it (promtool).

export interface Sample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface MetricFamily {
  /** Without the _total / _info suffix of counters / infos; ends with `_<unit>` when unit is set. */
  name: string;
  /** info: one sample of value 1 whose labels are the information (a gauge named <name>_info in the classic format). */
  type: 'counter' | 'gauge' | 'info';
  help: string;
  unit?: string;
  samples: readonly Sample[];
}

export const OPENMETRICS_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
export const PROMETHEUS_TEXT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeLabel = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (s: string, om: boolean): string => {
  const t = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return om ? t.replace(/"/g, '\\"') : t;
};

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isInteger(v) ? v.toFixed(0) : String(v);
}

function sampleLine(name: string, s: Sample): string {
  const labels = Object.entries(s.labels);
  const l = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
  return `${name}${l} ${formatValue(s.value)}`;
}

function checkName(f: MetricFamily): void {
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(f.name)) throw new Error(`metric name ${f.name} is not valid`);
  if (/_(total|info)$/.test(f.name)) throw new Error(`metric ${f.name}: the family name goes without its _total / _info suffix`);
  if (f.unit !== undefined && !f.name.endsWith(`_${f.unit}`)) throw new Error(`metric ${f.name} must end with its unit _${f.unit}`);
}

const sampleName = (f: MetricFamily): string => (f.type === 'counter' ? `${f.name}_total` : f.type === 'info' ? `${f.name}_info` : f.name);

/** OpenMetrics text: every family's HELP/TYPE/UNIT then its samples (counters as <name>_total), `# EOF` last. */
export function renderOpenMetrics(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    checkName(f);
    out.push(`# TYPE ${f.name} ${f.type}`);
    if (f.unit !== undefined) out.push(`# UNIT ${f.name} ${f.unit}`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help, true)}`);
    for (const s of f.samples) out.push(sampleLine(sampleName(f), s));
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}

/** The classic Prometheus text format (0.0.4): counters are named <name>_total and infos <name>_info (gauges) in HELP and TYPE too; no UNIT, no EOF. */
export function renderPrometheusText(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    checkName(f);
    const name = sampleName(f);
    out.push(`# HELP ${name} ${escapeHelp(f.help, false)}`, `# TYPE ${name} ${f.type === 'info' ? 'gauge' : f.type}`);
    for (const s of f.samples) out.push(sampleLine(name, s));
  }
  return `${out.join('\n')}\n`;
}

/**
 * Which format an Accept header gets: OpenMetrics unless the client asks for
 * the classic text format and not for OpenMetrics (Prometheus itself asks
 * for OpenMetrics first).
 */
export function negotiate(accept: string | undefined): 'openmetrics' | 'text' {
  if (!accept) return 'openmetrics';
  if (/application\/openmetrics-text/i.test(accept)) return 'openmetrics';
  return /text\/plain/i.test(accept) ? 'text' : 'openmetrics';
}
