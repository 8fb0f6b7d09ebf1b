// nettop --prometheus as a child process: the OpenMetrics exposition over
// HTTP, counters for driven traffic that never go down once the connection
// closes, promtool's lint, and a real Prometheus server scraping it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { have, NOT_ROOT, nettop, type Nettop, tcpTransfer } from './e2e.js';

const NO_PROMTOOL = have('promtool') ? undefined : 'promtool is not installed (Debian package prometheus)';
const NO_PROMETHEUS = have('prometheus') ? undefined : 'prometheus is not installed (Debian package prometheus)';
const skipped = (why: string | undefined) => (why ? ` (skipped: ${why})` : '');

/** Every sample of an exposition: name{labels} -> value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe.skipIf(NOT_ROOT)('nettop --prometheus', () => {
  let n: Nettop;
  let url: string;
  const scrape = async (accept?: string) => {
    const r = await fetch(url, accept ? { headers: { accept } } : {});
    expect(r.status).toBe(200);
    return { type: r.headers.get('content-type'), text: await r.text() };
  };

  beforeAll(async () => {
    n = nettop(['--prometheus', '127.0.0.1:0', '--interval', '1', '--verbose']);
    url = (await n.waitStderr(/serving (http:\/\/\S+)/))[1]!;
  });

  afterAll(async () => {
    n.child.kill('SIGTERM');
    expect(await n.exited, n.stderr()).toEqual({ code: 0, signal: null });
    // Prometheus mode prints no table unless asked.
    expect(n.stdout()).toBe('');
  });

  it('serves OpenMetrics at /metrics (and 404 elsewhere)', async () => {
    const { type, text } = await scrape();
    expect(type).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(text.endsWith('\n# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE nettop_sent_bytes counter\n# UNIT nettop_sent_bytes bytes\n');
    expect(text).toMatch(/^nettop_tracer_info\{kernel="[^"]+",backend="(tp_btf|tracepoint)",transport="\w+",offsets="\w+"\} 1$/m);
    expect(text).toMatch(/^nettop_lost_total\{reason="close_record_ring_full"\} \d+$/m);
    expect(text).toMatch(/^nettop_map_capacity 65536$/m);
    expect((await fetch(url.replace('/metrics', '/nope'))).status).toBe(404);
  });

  it('counts a TCP transfer on its service port exactly; counters stay after it closes and never go down', async () => {
    const first = samples((await scrape()).text);
    const t = await tcpTransfer(2000, 300_000);
    const series = `{protocol="tcp",direction="incoming",local_port="${t.serverPort}"}`;
    // Wait for the close record of the server's side.
    let now = samples((await scrape()).text);
    for (let i = 0; i < 50 && now.get(`nettop_connections_closed_total${series}`) !== 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = samples((await scrape()).text);
    }
    expect(now.get(`nettop_connections_closed_total${series}`)).toBe(1);
    expect(now.get(`nettop_received_bytes_total${series}`)).toBe(2000);
    expect(now.get(`nettop_sent_bytes_total${series}`)).toBe(300_000);
    expect(now.get(`nettop_connections${series}`)).toBe(0);
    // The client side is in the outgoing "ephemeral" series: no label per ephemeral port.
    expect([...now.keys()].some((k) => k.includes(`local_port="${t.clientPort}"`))).toBe(false);
    expect(now.get('nettop_received_bytes_total{protocol="tcp",direction="outgoing",local_port="ephemeral"}')).toBeGreaterThanOrEqual(300_000);
    await new Promise((r) => setTimeout(r, 1200));
    const later = samples((await scrape()).text);
    for (const [k, v] of [...first, ...now]) if (k.includes('_total')) expect(later.get(k), k).toBeGreaterThanOrEqual(v);
    expect(later.get(`nettop_received_bytes_total${series}`)).toBe(2000);
  });

  it('answers the classic text format to clients that ask only for it', async () => {
    const { type, text } = await scrape('text/plain;version=0.0.4');
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text).toContain('# TYPE nettop_sent_bytes_total counter\n');
    expect(text).not.toContain('# EOF');
  });

  it.skipIf(NO_PROMTOOL)(`promtool check metrics accepts the exposition${skipped(NO_PROMTOOL)}`, async () => {
    // promtool 2.x lints the classic text format (it reads OpenMetrics' _total samples as families of their own).
    const { text } = await scrape('text/plain;version=0.0.4');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it.skipIf(NO_PROMETHEUS)(`a Prometheus server scrapes it and its query API returns the bytes moved${skipped(NO_PROMETHEUS)}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nettop-prom-'));
    const port = await freePort();
    const target = new URL(url).host;
    writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: nettop\n    static_configs:\n      - targets: ['${target}']\n`);
    const t = await tcpTransfer(4321, 123_456);
    const prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      const query = `nettop_received_bytes_total{job="nettop",direction="incoming",local_port="${t.serverPort}"}`;
      let value: string | undefined;
      for (let i = 0; i < 100 && value === undefined; i++) {
        await new Promise((r) => setTimeout(r, 200));
        try {
          const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`);
          const body = (await r.json()) as { data?: { result?: { value: [number, string] }[] } };
          value = body.data?.result?.[0]?.value[1];
        } catch {
          // not up yet
        }
      }
      expect(value).toBe('4321');
    } finally {
      prom.kill('SIGTERM');
      await new Promise((r) => prom.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
