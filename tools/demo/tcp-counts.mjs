#!/usr/bin/env node
// tcp-counts: live TCP byte counts per connection, from the loader's test
// object (bpf/test/loader_test.bpf.c) until the real nettop exists.
//
//   sudo node tools/demo/tcp-counts.mjs [--interval 2] [--count N] [--port P] [--top 10]
//
// Two tp_btf programs (sock_send_length / sock_recv_length) count bytes per
// socket 4-tuple; a classic tracepoint (sock/inet_sock_set_state) counts
// ESTABLISHED and CLOSE transitions. Every interval the `flows` map is read in
// one batch and the busiest connections are printed.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `usage: tcp-counts [--interval SECONDS] [--count N] [--port PORT] [--top N]

Attach the loader's test object and print live TCP counts per connection.

  --interval S   seconds between prints (default 2)
  --count N      exit after N prints (default: run until Ctrl-C)
  --port P       count only connections with P as local or remote port (default 0: all)
  --top N        connections shown per print (default 10)
  -h, --help     this text

Needs root (CAP_BPF and CAP_PERFMON); mounts tracefs at /sys/kernel/tracing if it is not mounted.`;

function fail(message, code = 2) {
  process.stderr.write(`tcp-counts: ${message}\n`);
  process.exit(code);
}

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        interval: { type: 'string', default: '2' },
        count: { type: 'string' },
        port: { type: 'string', default: '0' },
        top: { type: 'string', default: '10' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail(`${err.message}\n\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const interval = Number(values.interval);
  if (!Number.isFinite(interval) || interval <= 0) fail(`--interval must be a positive number of seconds, got ${values.interval}`);
  const count = values.count === undefined ? Infinity : Number(values.count);
  if (!(count === Infinity || (Number.isInteger(count) && count > 0))) fail(`--count must be a positive integer, got ${values.count}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0..65535, got ${values.port}`);
  const top = Number(values.top);
  if (!Number.isInteger(top) || top <= 0) fail(`--top must be a positive integer, got ${values.top}`);
  return { interval, count, port, top };
}

const opts = parseOptions(process.argv.slice(2));

// Root first: everything below needs it, and the message should say so plainly.
if (process.getuid?.() !== 0) {
  fail(
    'must run as root: loading and attaching BPF programs needs CAP_BPF and CAP_PERFMON, and mounting tracefs needs CAP_SYS_ADMIN.\n' +
      `  run: sudo ${process.execPath} ${process.argv.slice(1).join(' ')}`,
    1,
  );
}

let loader;
let bpf;
let btf;
let decode;
try {
  loader = await import('@tracer-bpf/loader');
  bpf = await import('@tracer-bpf/bpf/test');
  btf = await import('@tracer-bpf/btf');
  decode = await import('@tracer-bpf/decode');
} catch (err) {
  fail(`cannot load the workspace packages (${err.message}): build them first with \`pnpm build\` (or run \`pnpm demo\`)`, 1);
}
const { BpfObject, findTracefs, probeFeature } = loader;

// The classic tracepoint (connection states) needs tracefs; the byte counters (tp_btf) do not.
let tracefs = findTracefs();
if (!tracefs) {
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { stdio: ['ignore', 'ignore', 'pipe'] });
    tracefs = findTracefs();
    if (tracefs) process.stderr.write(`tcp-counts: mounted tracefs at ${tracefs}\n`);
  } catch (err) {
    const why = String(err.stderr ?? err.message).trim();
    process.stderr.write(`tcp-counts: tracefs is not mounted and mounting it failed (${why})\n`);
  }
}

const objectFile = bpf.testObjectFile('loaderTest');
// The flows map's key and value, laid out as the object's BTF (bpf/test/loader_test.h) says.
const flow = bpf.flowLayout(btf.loadElfBtf(objectFile));
const obj = BpfObject.open(objectFile);
// Connection states: the classic tracepoint when tracefs is there, else its tp_btf twin.
const stateKind = tracefs ? bpf.FLOW_KIND.stateTracepoint : bpf.FLOW_KIND.stateTpBtf;
obj.program(tracefs ? 'count_state_btf' : 'count_state').setAutoload(false);
if (tracefs) {
  // The classic record's field offsets come from tracefs: its layout is no ABI.
  obj.setGlobals(bpf.stateRecordGlobals(loader.readTracepointFormat('sock', 'inet_sock_set_state')));
}
if (!tracefs) process.stderr.write('tcp-counts: without tracefs, connection states come from tp_btf (count_state_btf)\n');
// Bytes: the cheapest backend this kernel has (tp_btf needs the 6.3+ sock_send_length tracepoint).
const backend =
  !tracefs || existsSync(`${tracefs}/events/sock/sock_send_length`)
    ? 'tp_btf'
    : probeFeature('fentry').supported
      ? 'fentry'
      : 'kprobe';
for (const name of bpf.BYTE_BACKENDS[backend]) obj.program(name).setAutoload(true);
obj.setGlobal('target_port', opts.port);

let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  obj.close(); // closes every link: the kernel stops running the programs
  process.exit(code);
}
// A command (not the library) owns the process: Ctrl-C / kill end it cleanly.
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

try {
  await obj.load();
  const report = obj.attachAll();
  if (!report.ok) throw report.failed[0].error;
} catch (err) {
  obj.close();
  fail(`${err.message}${err.hint ? `\n  hint: ${err.hint}` : ''}`, 1);
}

const flows = obj.map('flows');
const attached = obj.links.map((l) => `${l.kind}:${l.target}`).join(', ');
process.stdout.write(
  `tcp-counts: attached ${attached}; ${opts.port ? `port ${opts.port}` : 'all ports'}; every ${opts.interval}s` +
    `${opts.count === Infinity ? ' (Ctrl-C to stop)' : `, ${opts.count} time${opts.count === 1 ? '' : 's'}`}\n`,
);

// ---- formatting ----

const AF_INET = 2;
const AF_INET6 = 10;

function endpoint(family, addr, port) {
  // decode's RFC 5952 text; an IPv4-mapped address prints as IPv4.
  const ip = family === AF_INET ? decode.formatIPv4(addr.subarray(0, 4)) : decode.formatIPv6(addr);
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function fmtBytes(n) {
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let x = v / 1024;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${x.toFixed(x < 10 ? 2 : 1)} ${units[u]}`;
}

function fmtDelta(n) {
  return n === 0n ? '-' : `+${fmtBytes(n)}`;
}

/** Read the map once: one row per connection end (bytes and state keys of the same 4-tuple merged). */
function snapshot() {
  const dump = flows.readAll();
  const rows = new Map();
  for (let i = 0; i < dump.count; i++) {
    const raw = dump.keys.subarray(i * flow.keySize, (i + 1) * flow.keySize);
    const k = flow.decodeKey(raw);
    const v = flow.decodeValue(dump.values.subarray(i * flow.valueSize, (i + 1) * flow.valueSize));
    const { family, kind } = k;
    if (family !== AF_INET && family !== AF_INET6) continue;
    // The 4-tuple (addresses, ports, family, protocol) names the connection end; kind tells which program wrote it.
    const id = `${k.saddr.toString('hex')}/${k.daddr.toString('hex')}/${k.sport}/${k.dport}/${family}/${k.protocol}`;
    let row = rows.get(id);
    if (!row) {
      row = {
        local: endpoint(family, k.saddr, k.sport),
        remote: endpoint(family, k.daddr, k.dport),
        sent: 0n,
        recv: 0n,
        established: 0n,
        closed: 0n,
        hasState: false,
        keys: [],
      };
      rows.set(id, row);
    }
    row.keys.push(Buffer.from(raw));
    if (kind === bpf.FLOW_KIND.bytes) {
      row.sent += v.sentBytes;
      row.recv += v.recvBytes;
    } else if (kind === stateKind) {
      row.established += v.established;
      row.closed += v.closed;
      row.hasState = true;
    }
  }
  return { rows, entries: dump.count };
}

function pad(s, n, right = false) {
  s = String(s);
  return right ? s.padStart(n) : s.padEnd(n);
}

let previous = new Map();
let prints = 0;
let full = false;
// Connection ends that closed, were printed, and were then deleted from the map
// (so that a long run on all ports does not fill its 1024 entries): their
// counts stay in the totals.
const retired = { ends: 0, sent: 0n, recv: 0n, established: 0n, closed: 0n };

function print() {
  const { rows, entries } = snapshot();
  const list = [...rows.entries()].map(([id, r]) => {
    const before = previous.get(id);
    const dSent = r.sent - (before?.sent ?? 0n);
    const dRecv = r.recv - (before?.recv ?? 0n);
    return { id, ...r, dSent, dRecv };
  });
  const byBytes = (a, b) => {
    const x = b.sent + b.recv - (a.sent + a.recv);
    return x > 0n ? 1 : x < 0n ? -1 : a.local.localeCompare(b.local);
  };
  list.sort(byBytes);

  const total = list.reduce(
    (t, r) => {
      t.sent += r.sent;
      t.recv += r.recv;
      t.dSent += r.dSent;
      t.dRecv += r.dRecv;
      t.established += r.established;
      t.closed += r.closed;
      return t;
    },
    { sent: retired.sent, recv: retired.recv, dSent: 0n, dRecv: 0n, established: retired.established, closed: retired.closed },
  );

  const shown = list.filter((r) => r.sent + r.recv > 0n).slice(0, opts.top);
  const w = Math.max(21, ...shown.map((r) => r.local.length));
  const wr = Math.max(21, ...shown.map((r) => r.remote.length));
  const lines = [];
  lines.push(`--- ${new Date().toISOString().replace('T', ' ').slice(0, 19)}  #${prints + 1}`);
  lines.push(
    `${pad('LOCAL', w)}    ${pad('REMOTE', wr)} ${pad('SENT', 11, true)} ${pad('RECV', 11, true)} ${pad('Δ SENT', 12, true)} ${pad('Δ RECV', 12, true)}  STATE`,
  );
  for (const r of shown) {
    const state = !r.hasState ? '' : r.closed > 0n ? 'closed' : r.established > 0n ? 'open' : '';
    lines.push(
      `${pad(r.local, w)} -> ${pad(r.remote, wr)} ${pad(fmtBytes(r.sent), 11, true)} ${pad(fmtBytes(r.recv), 11, true)} ` +
        `${pad(fmtDelta(r.dSent), 12, true)} ${pad(fmtDelta(r.dRecv), 12, true)}  ${state}`,
    );
  }
  const withBytes = list.filter((r) => r.sent + r.recv > 0n).length;
  if (withBytes > shown.length) lines.push(`... ${withBytes - shown.length} more`);
  if (shown.length === 0) lines.push('(no TCP traffic counted yet)');
  const ends = withBytes + retired.ends;
  lines.push(
    `total: ${ends} connection end${ends === 1 ? '' : 's'} with traffic; sent ${fmtBytes(total.sent)} (${fmtDelta(total.dSent)}), ` +
      `recv ${fmtBytes(total.recv)} (${fmtDelta(total.dRecv)})` +
      (tracefs ? `; ${total.established} established, ${total.closed} closed` : ''),
  );
  if (entries >= flows.maxEntries && !full) {
    full = true;
    lines.push(`note: the flows map is full (${flows.maxEntries} entries): new connections are no longer counted`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  // Closed, already printed once as closed and quiet since: drop from the map, keep in the totals.
  for (const r of list) {
    if (r.closed > 0n && r.dSent === 0n && r.dRecv === 0n && previous.get(r.id)?.closed) {
      for (const k of r.keys) flows.delete(k);
      if (r.sent + r.recv > 0n) retired.ends++;
      retired.sent += r.sent;
      retired.recv += r.recv;
      retired.established += r.established;
      retired.closed += r.closed;
      r.retired = true;
    }
  }
  previous = new Map(list.filter((r) => !r.retired).map((r) => [r.id, { sent: r.sent, recv: r.recv, closed: r.closed > 0n }]));
  prints++;
}

const timer = setInterval(() => {
  try {
    print();
  } catch (err) {
    process.stderr.write(`tcp-counts: ${err.stack ?? err}\n`);
    stop(1);
  }
  if (prints >= opts.count) {
    clearInterval(timer);
    stop(0);
  }
}, opts.interval * 1000);
