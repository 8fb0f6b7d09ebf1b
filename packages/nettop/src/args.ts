// The command line: parsed and checked into plain options (pure: no I/O but
// reading an --offsets file, which main passes in).
import { parseArgs } from 'node:util';
import type { Protocol, TracerOptions } from '@tracer-bpf/tracer';
import { UsageError } from './exit-codes.js';
import type { Filter } from './filter.js';

export const USAGE = `usage: nettop [options]
       nettop doctor [-v] [--backend B] [--offsets O]

Every TCP and UDP connection on this host with its traffic (eBPF; needs root
or CAP_BPF+CAP_PERFMON).

  -i, --interval S        seconds between samples (default 5)
      --once              print one sample, taken over the first interval, and exit
      --json              one JSON document per sample (schema 1, see the README)
      --table             with --prometheus: print the table too
      --prometheus [A:]P  serve OpenMetrics on http://A:P/metrics (A default: every
                          address); runs until SIGINT/SIGTERM
      --proto tcp|udp     only this protocol
      --port N            only connections with N as local or remote port
      --pid N             only connections of process N
      --netns INODE       only connections in this network namespace
      --backend B         auto (default), fentry, kprobe, tp_btf, tracepoint
      --offsets O         auto (default), btf, guess, or a JSON file of SockOffsets
      --max-connections N entries of the tracer's connection maps (default 65536);
                          what does not fit is counted in the header's "map full"
  -v, --verbose           say on stderr when tracing starts (and where metrics are served)
  -h, --help              this text

nettop doctor: check what tracing needs on this host, one line per check (the
struct offsets: from kernel BTF and verified by a guess, or guessed); with -v,
every offset, where it came from and how it was verified. Exits 3 when tracing
cannot run.

exit codes: 0 ok (also after SIGINT/SIGTERM), 1 runtime error, 2 usage error,
3 cannot trace here (missing privilege, no backend, no offsets: neither kernel
BTF nor a guess, lockdown).`;

export interface PrometheusAddress {
  /** undefined: every address. */
  host: string | undefined;
  port: number;
}

export interface CliOptions {
  command: 'top' | 'doctor' | 'help';
  intervalMs: number;
  once: boolean;
  json: boolean;
  table: boolean;
  verbose: boolean;
  prometheus: PrometheusAddress | undefined;
  filter: Filter;
  backend: NonNullable<TracerOptions['backend']>;
  /** 'auto', 'btf', or the path of a JSON file of SockOffsets. */
  offsets: string;
  /** Entries of the tracer's connection maps (undefined: the tracer's default). */
  maxConnections: number | undefined;
}

function integer(name: string, s: string, min: number, max: number): number {
  if (!/^\d+$/.test(s)) throw new UsageError(`--${name}: expected an integer from ${min} to ${max}, got "${s}"`);
  const n = Number(s);
  if (n < min || n > max) throw new UsageError(`--${name}: expected an integer from ${min} to ${max}, got ${s}`);
  return n;
}

/** `[addr:]port`: "9100", ":9100", "127.0.0.1:9100", "[::1]:9100". Port 0 asks for a free port. */
export function parsePrometheusAddress(s: string): PrometheusAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:[\]]*):)?(\d+)$/.exec(s);
  if (!m) throw new UsageError(`--prometheus: expected [addr:]port (e.g. 9100, 127.0.0.1:9100, [::1]:9100), got "${s}"`);
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  return { host, port: integer('prometheus', m[3]!, 0, 65535) };
}

const BACKENDS = ['auto', 'fentry', 'kprobe', 'tp_btf', 'tracepoint'] as const;

export function parseCli(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        interval: { type: 'string', short: 'i', default: '5' },
        once: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        table: { type: 'boolean', default: false },
        prometheus: { type: 'string' },
        proto: { type: 'string' },
        port: { type: 'string' },
        pid: { type: 'string' },
        netns: { type: 'string' },
        backend: { type: 'string', default: 'auto' },
        offsets: { type: 'string', default: 'auto' },
        'max-connections': { type: 'string' },
        verbose: { type: 'boolean', short: 'v', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'doctor')) {
    throw new UsageError(`unexpected argument "${positionals.find((p) => p !== 'doctor') ?? positionals[1]}" (the only command is "doctor")`);
  }
  const seconds = Number(v.interval);
  if (!/^\d+(\.\d+)?$/.test(v.interval) || !(seconds >= 0.1 && seconds <= 86_400)) {
    throw new UsageError(`--interval: expected seconds from 0.1 to 86400, got "${v.interval}"`);
  }
  if (!(BACKENDS as readonly string[]).includes(v.backend)) throw new UsageError(`--backend: expected one of ${BACKENDS.join(', ')}, got "${v.backend}"`);
  if (v.proto !== undefined && v.proto !== 'tcp' && v.proto !== 'udp') throw new UsageError(`--proto: expected tcp or udp, got "${v.proto}"`);
  if (v.offsets === '') throw new UsageError('--offsets: expected auto, btf, guess or a file');
  const filter: Filter = {};
  if (v.proto !== undefined) filter.protocol = v.proto as Protocol;
  if (v.port !== undefined) filter.port = integer('port', v.port, 0, 65535);
  if (v.pid !== undefined) filter.pid = integer('pid', v.pid, 0, 2 ** 32 - 1);
  if (v.netns !== undefined) filter.netns = integer('netns', v.netns, 0, 2 ** 32 - 1);
  const prometheus = v.prometheus === undefined ? undefined : parsePrometheusAddress(v.prometheus);
  if (prometheus && v.once) throw new UsageError('--prometheus runs until a signal: it does not go with --once');
  if (v.table && !prometheus) throw new UsageError('--table only goes with --prometheus (the table is the default otherwise)');
  return {
    command: v.help ? 'help' : positionals[0] === 'doctor' ? 'doctor' : 'top',
    intervalMs: Math.round(seconds * 1000),
    once: v.once,
    json: v.json,
    table: v.table,
    verbose: v.verbose,
    prometheus,
    filter,
    backend: v.backend as CliOptions['backend'],
    offsets: v.offsets,
    maxConnections: v['max-connections'] === undefined ? undefined : integer('max-connections', v['max-connections'], 1, 1 << 24),
  };
}
