// Numbers and endpoints as the table prints them.

const UNITS = ['', 'K', 'M', 'G', 'T', 'P'];

/** 0, 999, 1.0K, 12.3M ... (powers of 1024; three significant digits at most). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  let v = n;
  let u = 0;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return String(Math.round(v));
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${UNITS[u]}`;
}

/** Bytes per second: "1.2M/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Microseconds as "850us", "1.2ms", "35ms", "1.50s"; null as "-". */
export function formatRtt(us: number | null): string {
  if (us === null) return '-';
  if (us < 1000) return `${us}us`;
  if (us < 10_000) return `${(us / 1000).toFixed(1)}ms`;
  if (us < 1_000_000) return `${Math.round(us / 1000)}ms`;
  return `${(us / 1e6).toFixed(2)}s`;
}

/** "10.0.0.1:80", "[::1]:80". */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Cut `s` to `width` characters with an ellipsis: at the end, or in the middle (keeps an endpoint's port). */
export function truncate(s: string, width: number, where: 'end' | 'middle' = 'end'): string {
  if (s.length <= width) return s;
  if (width <= 1) return s.slice(0, width);
  if (where === 'end') return `${s.slice(0, width - 1)}…`;
  const tail = Math.ceil((width - 1) / 2);
  return `${s.slice(0, width - 1 - tail)}…${s.slice(s.length - tail)}`;
}
