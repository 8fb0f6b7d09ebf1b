#!/usr/bin/env node
// Syscall-cost benchmark (issue 8, "Cost"): how many ns the tracer adds to a
// syscall, next to bpftrace's minimal per-socket byte sum. The workload is
// build/syscall_loop (c/syscall_loop.c), pinned to one CPU and timed inside
// the C program, so Node is not measured:
//
//   udp     sendto + recvfrom on a connected 127.0.0.1 UDP pair     (ns per syscall)
//   tcp     sendto + recvfrom on a 127.0.0.1 TCP connection         (ns per syscall)
//   getpid  syscall(SYS_getpid): the global cost of syscall tracepoints
//
// under five configurations, interleaved (rotating order) over --rounds rounds,
// each attached before and detached after its turn in every round:
//
//   none                  nothing attached
//   bpftrace              tracepoint:sock:sock_{send,recv}_length { @[args->sk] = sum(args->ret); }
//   ours tp_btf           Tracer.start({ backend: 'tp_btf', udpPeers: false })
//   ours tp_btf+udpPeers  Tracer.start({ backend: 'tp_btf', udpPeers: true }) (syscall tracepoints on)
//   ours tracepoint       Tracer.start({ backend: 'tracepoint', udpPeers: false })
//
// Then one pass per BPF configuration with BPF stats on (the loader's
// enableBpfStats() scope; not during the timed rounds, stats cost ns per run)
// gives run_cnt and run_time_ns per program and workload, read with bpftool.
// Prints tables and writes JSON. A benchmark, not a test: a missed goal is
// printed as MISS and the exit status stays 0; 1 only when something breaks.
//
// Each sample is the fastest of --reps timed repetitions inside one run of the
// loop (iterations split between them): on a shared 2-CPU box that filters out
// preemption by other work; the JSON keeps the median of the repetitions too.
//
//   node syscall-cost.mjs [--rounds 15] [--iterations 20000] [--getpid-iterations 100000]
//        [--reps 5] [--cpu <n>] [--no-stats] [--out <file.json>]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { enableBpfStats } from '@tracer-bpf/loader';
import { Tracer } from '@tracer-bpf/tracer';
import { environment, parseOptions, reporter, stats } from './lib/common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const C_BIN = join(HERE, 'build', 'syscall_loop');
const BPFTRACE_SCRIPT =
  'tracepoint:sock:sock_send_length { @[args->sk] = sum(args->ret); } tracepoint:sock:sock_recv_length { @[args->sk] = sum(args->ret); }';
// BEGIN runs once, after every probe is attached: our "ready" signal. It adds nothing per event.
const BPFTRACE_READY = ' BEGIN { printf("ready\\n"); }';
const WORKLOADS = ['udp', 'tcp', 'getpid'];

const { log, die } = reporter('syscall-cost');

function parseArgs(argv) {
  const o = parseOptions(argv, {
    script: fileURLToPath(import.meta.url),
    defaults: { rounds: 15, iterations: 20_000, getpidIterations: 0, reps: 5, cpu: -1, stats: true, out: join(REPO, 'bench-results', 'syscall-cost.json') },
    ints: { rounds: 'rounds', iterations: 'iterations', 'getpid-iterations': 'getpidIterations', reps: 'reps', cpu: 'cpu' },
    strings: { out: 'out' },
    flags: { 'no-stats': ['stats', false] },
    die,
  });
  if (!o.getpidIterations) o.getpidIterations = 5 * o.iterations;
  if (o.cpu < 0) o.cpu = os.cpus().length - 1;
  return o;
}

const r1 = (x) => (x == null || Number.isNaN(x) ? null : Math.round(x * 10) / 10);
const rotate = (arr, k) => arr.map((_, i) => arr[(i + k) % arr.length]);
/** Nearest-rank percentile. */
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
};
const median = (xs) => stats(xs).median;

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- workload
// `total` iterations in `reps` timed repetitions, after 10% untimed warm-up.
function runLoop(cpu, total, reps, modes) {
  const per = Math.max(1, Math.floor(total / reps));
  const warm = Math.max(1, Math.floor(total / 10));
  const r = spawnSync(C_BIN, [String(cpu), String(per), String(warm), String(reps), ...modes], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${C_BIN} failed (${r.status ?? r.signal}): ${r.stderr.trim()}`);
  const j = JSON.parse(r.stdout);
  for (const m of Object.values(j.results)) {
    m.min = Math.min(...m.nsPerSyscall);
    m.median = median(m.nsPerSyscall);
  }
  j.timedIterations = per * reps;
  return j;
}
/** One sample of every workload: the fastest repetition's ns per syscall (a preemption filter). */
function runWorkloads(o) {
  const net = runLoop(o.cpu, o.iterations, o.reps, ['udp', 'tcp']).results;
  const gp = runLoop(o.cpu, o.getpidIterations, o.reps, ['getpid']).results;
  return {
    udp: net.udp.min,
    tcp: net.tcp.min,
    getpid: gp.getpid.min,
    repMedians: { udp: net.udp.median, tcp: net.tcp.median, getpid: gp.getpid.median },
    extraRecv: net.tcp.extraRecvCalls,
  };
}

// ---------------------------------------------------------------- configurations
function progIds() {
  const out = sh('bpftool', ['prog', 'show', '-j']);
  if (out == null) throw new Error('bpftool prog show failed');
  return JSON.parse(out);
}

async function startBpftrace() {
  const child = spawn('bpftrace', ['-e', BPFTRACE_SCRIPT + BPFTRACE_READY], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bpftrace not ready after 60 s: ${err.trim()}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`bpftrace exited (${code ?? sig}) before it was ready: ${err.trim()}`));
    });
    child.on('error', reject);
  });
  child.removeAllListeners('exit');
  child.stdout.on('data', () => {}); // drain the map dump at exit
  return {
    programs: ['sock_send_length', 'sock_recv_length', 'BEGIN'],
    close: async () => {
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(t);
    },
  };
}

async function startOurs(backend, udpPeers) {
  const t = await Tracer.start({ backend, udpPeers });
  if (t.info.backend !== backend) throw new Error(`asked for ${backend}, got ${t.info.backend}`);
  if (!t.info.perCall) throw new Error('this kernel has no sock_send_length/sock_recv_length: the per-call cost is not measured');
  if (t.info.udpPeers !== udpPeers) throw new Error(`udpPeers: asked ${udpPeers}, got ${t.info.udpPeers}`);
  return { close: async () => t.close(), programs: t.info.programs };
}

const CONFIGS = {
  none: { ours: false, start: async () => ({ close: async () => {} }) },
  bpftrace: { ours: false, start: startBpftrace },
  'ours tp_btf': { ours: true, start: () => startOurs('tp_btf', false) },
  'ours tp_btf+udpPeers': { ours: true, start: () => startOurs('tp_btf', true) },
  'ours tracepoint': { ours: true, start: () => startOurs('tracepoint', false) },
};
const NAMES = Object.keys(CONFIGS);

// ---------------------------------------------------------------- stats pass
/** Programs that appeared with a configuration: id -> name (full name from `programs` when bpftool truncates). */
// Only new programs with one of the configuration's names: other processes on
// the box may load programs meanwhile (bpftool gives full names from BTF where
// it can, else the first 15 characters).
function newPrograms(before, programs) {
  const old = new Set(before.map((p) => p.id));
  const out = new Map();
  for (const p of progIds()) {
    if (old.has(p.id)) continue;
    const full = programs.filter((n) => n === p.name || (p.name.length === 15 && n.startsWith(p.name)));
    if (full.length === 1) out.set(p.id, full[0]);
  }
  return out;
}
function readStats(ids) {
  const m = new Map();
  for (const p of progIds()) if (ids.has(p.id)) m.set(p.id, { runCnt: p.run_cnt ?? 0, runTimeNs: p.run_time_ns ?? 0 });
  return m;
}

async function statsPass(name, o) {
  const before = progIds();
  const h = await CONFIGS[name].start();
  try {
    const ids = newPrograms(before, h.programs);
    const scope = enableBpfStats(); // closed in finally (Node 20 has no `using`)
    const perWorkload = {};
    try {
    for (const w of WORKLOADS) {
      const s0 = readStats(ids);
      const run = runLoop(o.cpu, w === 'getpid' ? o.getpidIterations : o.iterations, 1, [w]);
      const res = run.results[w];
      const s1 = readStats(ids);
      const syscalls = (run.timedIterations + run.warmup) * res.syscallsPerIter;
      const progs = {};
      let totalNs = 0;
      for (const [id, prog] of ids) {
        const a = s0.get(id);
        const b = s1.get(id);
        if (!a || !b) continue;
        const cnt = b.runCnt - a.runCnt;
        const ns = b.runTimeNs - a.runTimeNs;
        totalNs += ns;
        // Counted over warm-up + timed syscalls, and over the whole machine (other traffic too).
        if (cnt > 0) progs[prog] = { id, runCnt: cnt, runTimeNs: ns, nsPerRun: ns / cnt, runsPerSyscall: cnt / syscalls };
      }
      perWorkload[w] = { nsPerSyscallMeasured: res.min, bpfNsPerSyscall: totalNs / syscalls, programs: progs };
    }
    } finally {
      scope.close();
    }
    return { programs: Object.fromEntries([...ids].map(([id, n]) => [n, id])), workloads: perWorkload };
  } finally {
    await h.close();
  }
}

// ---------------------------------------------------------------- output
function table(rows, headers) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (r) => r.map((c, i) => (i <= 1 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [fmt(headers), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(fmt)].join('\n');
}
const f1 = (x) => (x == null ? '-' : x.toFixed(1));
const signed = (x) => (x == null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}`);

// ---------------------------------------------------------------- main
async function main() {
  const o = parseArgs(process.argv.slice(2));
  const tStart = process.hrtime.bigint();
  const env = {
    ...environment(),
    bpftrace: sh('bpftrace', ['--version']),
    bpftool: sh('bpftool', ['version'])?.split('\n')[0] ?? null,
    gcc: sh('gcc', ['-dumpfullversion']),
    uid: process.getuid?.(),
    virt: sh('systemd-detect-virt', []),
  };
  if (env.uid !== 0) die('run as root: the tracer and bpftrace need CAP_BPF/CAP_PERFMON, BPF stats CAP_SYS_ADMIN');
  if (!env.bpftrace) die('bpftrace not found (apt-get install bpftrace)');
  if (!env.bpftool) die('bpftool not found (apt-get install bpftool)');
  if (o.cpu >= os.cpus().length) die(`--cpu ${o.cpu}: this machine has ${os.cpus().length} CPUs`);
  if (!existsSync(C_BIN)) {
    log(`${relative(REPO, C_BIN)} missing: building it (bash tools/bench/build.sh)`);
    const r = spawnSync('bash', [join(HERE, 'build.sh')], { stdio: 'inherit' });
    if (r.status !== 0) die('building the C programs failed (needs gcc: see tools/bench/README.md)');
  }

  // Untimed: every configuration starts and stops once (bpftrace's first start compiles LLVM paths in).
  log(`warm-up: each configuration once; then ${o.rounds} rounds of ${o.iterations} send/recv and ${o.getpidIterations} getpid iterations on CPU ${o.cpu}`);
  const setupMs = Object.fromEntries(NAMES.map((n) => [n, []]));
  for (const name of NAMES) {
    const h = await CONFIGS[name].start();
    runLoop(o.cpu, Math.min(2000, o.iterations), 1, ['udp', 'tcp', 'getpid']);
    await h.close();
  }

  const samples = Object.fromEntries(NAMES.map((n) => [n, { udp: [], tcp: [], getpid: [] }]));
  const repMedians = Object.fromEntries(NAMES.map((n) => [n, { udp: [], tcp: [], getpid: [] }]));
  const orders = [];
  let extraRecv = 0;
  for (let r = 0; r < o.rounds; r++) {
    const order = rotate(NAMES, r);
    orders.push(order);
    const line = [];
    for (const name of order) {
      const t0 = process.hrtime.bigint();
      const h = await CONFIGS[name].start();
      setupMs[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
      let s;
      try {
        await sleep(20);
        s = runWorkloads(o);
      } finally {
        await h.close();
      }
      for (const w of WORKLOADS) {
        samples[name][w].push(s[w]);
        repMedians[name][w].push(s.repMedians[w]);
      }
      extraRecv += s.extraRecv;
      line.push(`${name} ${s.udp.toFixed(0)}/${s.tcp.toFixed(0)}/${s.getpid.toFixed(0)}`);
    }
    log(`round ${r + 1}/${o.rounds} (udp/tcp/getpid ns per syscall): ${line.join(', ')}`);
  }

  let bpfStats = null;
  if (o.stats) {
    bpfStats = {};
    for (const name of NAMES.filter((n) => n !== 'none')) {
      log(`BPF stats pass: ${name}`);
      bpfStats[name] = await statsPass(name, o);
    }
  }

  // ------------------------------------------------------------ statistics
  const result = {};
  for (const w of WORKLOADS) {
    const base = samples.none[w];
    const baseMed = median(base);
    result[w] = {};
    for (const name of NAMES) {
      const xs = samples[name][w];
      const st = stats(xs);
      const paired = xs.map((x, i) => x - base[i]);
      result[w][name] = {
        samplesNs: xs.map(r1),
        repMedianSamplesNs: repMedians[name][w].map(r1),
        medianOfRepMediansNs: r1(median(repMedians[name][w])),
        medianNs: r1(st.median),
        p10Ns: r1(pct(xs, 0.1)),
        p90Ns: r1(pct(xs, 0.9)),
        minNs: r1(st.min),
        maxNs: r1(st.max),
        addedNs: r1(st.median - baseMed),
        addedPairedMedianNs: r1(median(paired)),
        addedPairedP10Ns: r1(pct(paired, 0.1)),
        addedPairedP90Ns: r1(pct(paired, 0.9)),
        bpfNsPerSyscall: r1(bpfStats?.[name]?.workloads[w].bpfNsPerSyscall),
      };
    }
  }
  const ours = NAMES.filter((n) => CONFIGS[n].ours);
  const goals = {};
  for (const w of ['udp', 'tcp']) {
    const bt = result[w].bpftrace.addedNs;
    goals[w] = Object.fromEntries(ours.map((n) => [n, { pass: result[w][n].addedNs <= bt, addedNs: result[w][n].addedNs, bpftraceAddedNs: bt }]));
  }

  // ------------------------------------------------------------ report
  const out = [''];
  out.push(`Syscall cost (issue 8): ns per syscall on CPU ${o.cpu}, ${o.rounds} interleaved rounds (rotating order, every configuration attached and detached in every round)`);
  out.push(`kernel ${env.kernel}, ${env.cpuModel}, ${env.cpus} CPUs${env.virt && env.virt !== 'none' ? ` (virt: ${env.virt})` : ''}, load ${env.loadavg.join(' ')}; ${env.bpftrace}`);
  out.push(`loops: ${o.iterations} sendto+recvfrom iterations (64 B, loopback), ${o.getpidIterations} getpid iterations, each in ${o.reps} timed repetitions (sample = fastest); + 10% untimed warm-up`);
  out.push('');
  const rows = [];
  for (const w of WORKLOADS) {
    for (const name of NAMES) {
      const x = result[w][name];
      const bt = result[w].bpftrace.addedNs;
      rows.push([
        w,
        name,
        f1(x.medianNs),
        f1(x.p10Ns),
        f1(x.p90Ns),
        name === 'none' ? '' : signed(x.addedNs),
        name === 'none' ? '' : `${signed(x.addedPairedMedianNs)} [${signed(x.addedPairedP10Ns)}, ${signed(x.addedPairedP90Ns)}]`,
        CONFIGS[name].ours && bt > 0 ? `${(x.addedNs / bt).toFixed(2)}x` : '',
        x.bpfNsPerSyscall == null ? '' : f1(x.bpfNsPerSyscall),
      ]);
    }
  }
  out.push(table(rows, ['workload', 'configuration', 'median', 'p10', 'p90', 'added', 'paired added [p10, p90]', 'vs bpftrace', 'BPF run ns']));
  out.push('');
  out.push('  all figures ns per syscall; added = median - median(none); paired = per-round difference to none (same round), median [p10, p90]');
  out.push('  vs bpftrace = added / bpftrace added; BPF run ns = sum of run_time_ns of the configuration\'s programs / syscalls (stats pass)');
  out.push('');
  for (const w of ['udp', 'tcp']) {
    for (const n of ours) {
      const g = goals[w][n];
      out.push(`Goal: ${w} ${n} adds at most bpftrace's cost ${'.'.repeat(Math.max(2, 26 - n.length - w.length))} ${g.pass ? 'PASS' : 'MISS'}  ${signed(g.addedNs)} vs ${signed(g.bpftraceAddedNs)} ns`);
    }
  }
  if (bpfStats) {
    out.push('');
    out.push('BPF stats (separate pass, stats on): per program, ns per run and runs per syscall');
    const srows = [];
    for (const [name, s] of Object.entries(bpfStats)) {
      const progs = new Set(WORKLOADS.flatMap((w) => Object.keys(s.workloads[w].programs)));
      for (const p of progs) {
        const cell = (w) => {
          const x = s.workloads[w].programs[p];
          return x ? `${x.nsPerRun.toFixed(0)} ns x ${x.runsPerSyscall.toFixed(2)}` : '-';
        };
        srows.push([name, p, cell('udp'), cell('tcp'), cell('getpid')]);
      }
      srows.push([name, '(sum per syscall)', ...WORKLOADS.map((w) => `${s.workloads[w].bpfNsPerSyscall.toFixed(1)} ns`)]);
    }
    out.push(table(srows, ['configuration', 'program', 'udp', 'tcp', 'getpid']));
    out.push('  programs that did not run in any workload (lifecycle, retransmit...) are left out; see the JSON');
  }
  out.push('');
  out.push(`JSON: ${o.out}`);
  console.log(out.join('\n'));

  const json = {
    benchmark: 'syscall-cost',
    env,
    config: {
      rounds: o.rounds,
      iterations: o.iterations,
      getpidIterations: o.getpidIterations,
      reps: o.reps,
      sample: 'fastest of reps (ns per syscall); repMedianSamplesNs has the median of reps',
      warmupFraction: 0.1,
      cpu: o.cpu,
      messageBytes: 64,
      loop: relative(REPO, C_BIN),
      bpftraceScript: BPFTRACE_SCRIPT,
      bpftraceReadyProbe: BPFTRACE_READY.trim(),
      configurations: NAMES,
      orders,
      tcpExtraRecvCalls: extraRecv,
    },
    setupMs: Object.fromEntries(NAMES.map((n) => [n, r1(median(setupMs[n]))])),
    results: result,
    goals,
    bpfStats,
    elapsedS: r1(Number(process.hrtime.bigint() - tStart) / 1e9),
  };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify(json, null, 2) + '\n');
  log(`done in ${json.elapsedS} s`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
