import { describe, expect, it } from 'vitest';
import { ANSI, PLAIN, wantColor } from '../src/color.js';
import { formatBytes, formatEndpoint, formatRate, formatRtt, truncate } from '../src/format.js';
import { accuracyText, renderHeader } from '../src/header.js';
import { buildSample } from '../src/sample.js';
import { COLUMNS, fitColumns, renderTable } from '../src/table.js';
import { renderSample } from '../src/top.js';
import { conn, INFO, NO_LOSSES } from './fixtures.js';

const sample = (conns = [conn(), conn({ id: 2n, protocol: 'udp', family: 'ipv6', localAddress: '::1', remoteAddress: '::1', pid: 0, command: undefined, tcp: undefined, direction: 'incoming' })]) =>
  buildSample({ connections: conns, intervalSeconds: 2, info: INFO, losses: NO_LOSSES, accuracy: null, filter: {}, now: new Date(0) });

describe('format', () => {
  it('bytes, rates, RTT, endpoints', () => {
    expect([0, 999, 1000, 1536, 10 * 1024, 5 * 1024 ** 2, 3.5 * 1024 ** 3].map(formatBytes)).toEqual(['0', '999', '1.0K', '1.5K', '10K', '5.0M', '3.5G']);
    expect(formatRate(2048)).toBe('2.0K/s');
    expect([null, 850, 1234, 35_000, 1_500_000].map(formatRtt)).toEqual(['-', '850us', '1.2ms', '35ms', '1.50s']);
    expect(formatEndpoint('10.0.0.1', 80)).toBe('10.0.0.1:80');
    expect(formatEndpoint('::1', 80)).toBe('[::1]:80');
  });

  it('truncates at the end or in the middle', () => {
    expect(truncate('abcdef', 10)).toBe('abcdef');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('[2001:db8::1]:443', 9, 'middle')).toBe('[200…:443');
  });
});

describe('table', () => {
  it('shows every column when it fits, one row a connection', () => {
    const lines = renderTable(sample().connections, 200, PLAIN);
    expect(lines[0]!.split(/\s+/)).toEqual(COLUMNS.map((c) => c.title));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^tcp\s+100\/curl\s+127\.0\.0\.1:40000\s+127\.0\.0\.1:80\s+out\s+100\s+1\.0K\s+50\/s\s+500\/s\s+0\s+50us\s+ESTABLISHED$/);
    expect(lines[2]).toMatch(/^udp6\s+-\s+\[::1\]:40000\s+\[::1\]:80\s+in .* - +- +-$/);
  });

  it.each([120, 80, 60, 40, 20])('fits %i columns', (width) => {
    const lines = renderTable(sample().connections, width, PLAIN);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(width);
    // The endpoints are the last to go.
    if (width >= 40) expect(lines[0]).toMatch(/LOCAL.*REMOTE/);
  });

  it('drops the least useful columns first', () => {
    const cells = sample().connections.map((r) => COLUMNS.map((c) => c.cell(r)));
    const shown = (w: number) => fitColumns(cells, w).map((f) => COLUMNS[f.index]!.title);
    expect(shown(500)).toHaveLength(COLUMNS.length);
    expect(shown(80)).not.toContain('STATE');
    expect(shown(30)).toEqual(expect.arrayContaining(['LOCAL', 'REMOTE']));
  });

  it('a process without a name shows its pid; no RTT sample shows as -', () => {
    const rows = sample([conn({ command: undefined, tcp: { retransmits: 0, rttUs: 0, rttVarUs: 0, segsOut: 1, segsIn: 0, states: [], state: 'SYN_SENT' } })]).connections;
    expect(renderTable(rows, 200, PLAIN)[1]).toMatch(/^tcp\s+100\s+127.*\s+0\s+-\s+SYN_SENT$/);
  });

  it('dims closed rows in colour only', () => {
    const rows = sample([conn({ closed: 'destroyed' })]).connections;
    expect(renderTable(rows, 200, ANSI)[1]).toMatch(/^\x1b\[2m.*destroyed\x1b\[22m$/);
    expect(renderTable(rows, 200, PLAIN)[1]).not.toMatch(/\x1b/);
  });
});

describe('header', () => {
  it('names the tracer setup, the losses, map fill and accuracy', () => {
    const [first, second] = renderHeader(sample(), 300, PLAIN);
    expect(first).toBe('nettop  kernel 6.18.0  backend tp_btf  transport ringbuf  offsets btf  2 connections over 2s');
    expect(second).toBe('lost: close records 0, reader queue 0, map full 0/0, failed reads 0  map 10/65536 (0.0%)  accuracy: n/a (no ss)');
    for (const l of renderHeader(sample(), 40, PLAIN)) expect(l.length).toBeLessThanOrEqual(40);
  });

  it('shows losses in red and counts perf samples as 4 records', () => {
    const doc = { ...sample(), losses: { ...NO_LOSSES, closedLost: 1, closedLostSamples: 2 } };
    const second = renderHeader(doc, 300, ANSI)[1]!;
    expect(second).toContain('\x1b[31mlost: close records 9,');
  });

  it('accuracy text', () => {
    expect(accuracyText(null)).toBe('accuracy: n/a (no ss)');
    expect(accuracyText({ sockets: 0, maxSentDiffBytes: 0, maxRecvDiffBytes: 0 })).toBe('accuracy: no socket to compare');
    expect(accuracyText({ sockets: 3, maxSentDiffBytes: 0, maxRecvDiffBytes: 2048 })).toBe('accuracy: ±0 sent, ±2.0K recv (worst of 3 TCP)');
  });
});

describe('colour', () => {
  it('only on a TTY without NO_COLOR', () => {
    expect(wantColor(true, {})).toBe(true);
    expect(wantColor(true, { NO_COLOR: '' })).toBe(false);
    expect(wantColor(true, { NO_COLOR: '1' })).toBe(false);
    expect(wantColor(false, {})).toBe(false);
    expect(wantColor(undefined, {})).toBe(false);
  });
});

describe('a sample on stdout', () => {
  const doc = sample([1, 2, 3, 4, 5].map((i) => conn({ id: BigInt(i), localPort: 40000 + i })));
  const io = (stdout: { isTTY?: boolean; columns?: number; rows?: number }, env: Record<string, string | undefined> = {}) => ({ stdout: { write: () => true, ...stdout }, stderr: { write: () => true }, env });

  it('on a terminal: cleared, as many rows as fit, how many more', () => {
    const out = renderSample(doc, { json: false }, io({ isTTY: true, columns: 100, rows: 7 }, { NO_COLOR: '1' }));
    const lines = out.split('\n');
    expect(lines[0]!.startsWith('\x1b[H\x1b[2Jnettop  kernel')).toBe(true);
    expect(lines.slice(3, -2).every((l) => l.startsWith('tcp'))).toBe(true);
    expect(lines.slice(3, -2)).toHaveLength(3);
    expect(lines.at(-2)).toBe('… 2 more');
    for (const l of lines.slice(1)) expect(l.length).toBeLessThanOrEqual(100);
  });

  it('on a pipe: every row, a blank line after; COLUMNS or 160 wide', () => {
    const out = renderSample(doc, { json: false }, io({}, { COLUMNS: '90' }));
    expect(out).not.toContain('\x1b');
    expect(out.split('\n')).toHaveLength(2 + 1 + 5 + 2);
    expect(out.endsWith('\n\n')).toBe(true);
    expect(Math.max(...out.split('\n').map((l) => l.length))).toBeLessThanOrEqual(90);
  });

  it('--json: one line of JSON, terminal or not', () => {
    const out = renderSample(doc, { json: true }, io({ isTTY: true, columns: 20, rows: 3 }));
    expect(out.endsWith('}\n')).toBe(true);
    expect(out.split('\n')).toHaveLength(2);
    expect(JSON.parse(out).connections).toHaveLength(5);
  });
});
