// What the benchmark scripts share: option parsing, logging, sample statistics
// and the environment recorded with every result.
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** `log` and `die` that prefix messages with the script's tag. */
export function reporter(tag) {
  return {
    log: (msg) => console.error(`[${tag}] ${msg}`),
    die: (msg) => {
      console.error(`[${tag}] ERROR: ${msg}`);
      process.exit(1);
    },
  };
}

/**
 * Parse `argv` into a copy of `defaults`. `ints` maps option names (without
 * `--`) to keys taking a positive integer, `strings` to keys taking any value,
 * `flags` to [key, value] set when the option is present. `--help` prints the
 * comment block that opens `script` (a file path) and exits.
 */
export function parseOptions(argv, { script, defaults, ints = {}, strings = {}, flags = {}, die }) {
  const o = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') ? a.slice(2) : a;
    if (name in ints) {
      const v = argv[++i];
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) die(`--${name} needs a positive integer, got ${v}`);
      o[ints[name]] = n;
    } else if (name in strings) {
      o[strings[name]] = argv[++i];
    } else if (name in flags) {
      const [key, value] = flags[name];
      o[key] = value;
    } else if (a === '-h' || a === '--help') {
      console.log(readFileSync(script, 'utf8').split('\nimport ')[0]);
      process.exit(0);
    } else {
      die(`unknown argument ${a} (try --help)`);
    }
  }
  return o;
}

/** Order statistics of timing samples (p90: nearest rank). */
export function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const p90 = s[Math.min(n - 1, Math.ceil(0.9 * n) - 1)];
  const mean = s.reduce((a, b) => a + b, 0) / n;
  return { n, median, min: s[0], p90, max: s[n - 1], mean };
}

/** What every result file records about the machine it ran on. */
export function environment() {
  return {
    date: new Date().toISOString(),
    kernel: os.release(),
    node: process.version,
    v8: process.versions.v8,
    cpuModel: os.cpus()[0]?.model ?? null,
    cpus: os.cpus().length,
    memTotalMiB: Math.round(os.totalmem() / 2 ** 20),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    hostname: os.hostname(),
  };
}
