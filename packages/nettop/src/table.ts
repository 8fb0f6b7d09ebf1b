// The table: one row a connection, fitted to the terminal width by dropping
// the least useful columns and shortening the wide ones.
import type { Colors } from './color.js';
import { formatBytes, formatEndpoint, formatRate, formatRtt, truncate } from './format.js';
import type { ConnectionRow } from './sample.js';

interface Column {
  title: string;
  right: boolean;
  /** Dropped first when the width is short: the lowest keep. */
  keep: number;
  /** Can be shortened down to this width (else its natural width is fixed). */
  min?: number;
  cut?: 'end' | 'middle';
  cell(r: ConnectionRow): string;
}

const DIRS: Record<ConnectionRow['direction'], string> = { incoming: 'in', outgoing: 'out', unknown: '?' };

export const COLUMNS: readonly Column[] = [
  { title: 'PROTO', right: false, keep: 7, cell: (r) => `${r.protocol}${r.family === 'ipv6' ? '6' : ''}` },
  { title: 'PID/COMMAND', right: false, keep: 8, min: 7, cut: 'end', cell: (r) => (r.pid === 0 ? '-' : r.command === null ? String(r.pid) : `${r.pid}/${r.command}`) },
  { title: 'LOCAL', right: false, keep: 10, min: 9, cut: 'middle', cell: (r) => formatEndpoint(r.localAddress, r.localPort) },
  { title: 'REMOTE', right: false, keep: 10, min: 9, cut: 'middle', cell: (r) => formatEndpoint(r.remoteAddress, r.remotePort) },
  { title: 'DIR', right: false, keep: 4, cell: (r) => DIRS[r.direction] },
  { title: 'SENT', right: true, keep: 6, cell: (r) => formatBytes(r.sentBytes) },
  { title: 'RECV', right: true, keep: 6, cell: (r) => formatBytes(r.recvBytes) },
  { title: 'TX/s', right: true, keep: 9, cell: (r) => formatRate(r.sendRate) },
  { title: 'RX/s', right: true, keep: 9, cell: (r) => formatRate(r.recvRate) },
  { title: 'RETR', right: true, keep: 3, cell: (r) => (r.retransmits === null ? '-' : String(r.retransmits)) },
  // No RTT sample yet (0: a connection that never got an ACK) shows as '-'.
  { title: 'RTT', right: true, keep: 3, cell: (r) => formatRtt(r.rttUs || null) },
  { title: 'STATE', right: false, keep: 1, cell: (r) => r.closed ?? r.state ?? '-' },
];

const GAP = 2;

/** Which columns, at which widths, fit in `width` characters. */
export function fitColumns(cells: readonly string[][], width: number, columns: readonly Column[] = COLUMNS): { index: number; width: number }[] {
  const natural = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  let shown = columns.map((_, i) => i);
  for (;;) {
    const widths = shown.map((i) => natural[i]!);
    const total = () => widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1);
    // Shorten the widest shortenable column, one character at a time.
    while (total() > width) {
      let best = -1;
      for (let k = 0; k < shown.length; k++) {
        const min = Math.max(columns[shown[k]!]!.min ?? Infinity, columns[shown[k]!]!.title.length);
        if (widths[k]! > min && (best < 0 || widths[k]! > widths[best]!)) best = k;
      }
      if (best < 0) break;
      widths[best]!--;
    }
    if (total() <= width || shown.length === 1) return shown.map((index, k) => ({ index, width: widths[k]! }));
    // Still too wide: drop the least useful column and start again from natural widths.
    const drop = shown.reduce((a, b) => (columns[b]!.keep < columns[a]!.keep ? b : a));
    shown = shown.filter((i) => i !== drop);
  }
}

function pad(s: string, width: number, right: boolean): string {
  return right ? s.padStart(width) : s.padEnd(width);
}

/** The table's lines (title line first), each at most `width` characters wide before colouring. */
export function renderTable(rows: readonly ConnectionRow[], width: number, c: Colors): string[] {
  const cells = rows.map((r) => COLUMNS.map((col) => col.cell(r)));
  const fit = fitColumns(cells, width);
  const line = (values: readonly string[]) =>
    fit
      .map(({ index, width: w }) => {
        const col = COLUMNS[index]!;
        return pad(truncate(values[index]!, w, col.cut ?? 'end'), w, col.right);
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  const out = [c.inverse(line(COLUMNS.map((col) => col.title)))];
  rows.forEach((r, i) => {
    const l = line(cells[i]!);
    out.push(r.closed ? c.dim(l) : l);
  });
  return out;
}
