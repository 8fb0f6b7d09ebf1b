#!/usr/bin/env node
// pnpm test:kernels — run the kernel test suites (*.kernel.test.*) of the
// workspace on real Debian kernels under QEMU TCG, one row per kernel.
// See tools/vmtest/README.md.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { boot, children, killAll, qemuArgs } from './lib/boot.mjs';
import { buildInitramfs } from './lib/initramfs.mjs';
import { GUEST_DIR, primeTransforms } from './lib/transforms.mjs';
import { resolveKernels } from './lib/kernels.mjs';
import { checkExpected, expectationOf, table, totals } from './lib/report.mjs';
import { CACHE, REPO, VMTEST, log, which } from './lib/util.mjs';

const USAGE = `usage: pnpm test:kernels [-- options]     (or: node tools/vmtest/run.mjs [options])

Runs every workspace package's *.kernel.test.* files (vitest, filter "kernel.test")
inside each kernel of tools/vmtest/kernels.json, booted under QEMU TCG.

  -k, --kernel K        only this kernel (repeatable): a name from kernels.json, a Debian
                        package (linux-image-6.1.0-50-amd64, linux-image-rt-amd64, ...) or a
                        path to a vmlinuz (config: next to it as config-<release>, or --config)
      --config FILE     kernel config for a vmlinuz path
      --append ARGS     extra kernel command line for this run (e.g. "ipv6.disable=1")
      --qemu-cpu MODEL  QEMU -cpu for this run (default: guest.cpu in kernels.json)
      --qemu-accel A    QEMU -accel for this run, tcg only (default: guest.accel in kernels.json)
      --cpus N          vCPUs of every guest of this run (default: the kernel's cpus, else guest.cpus)
      --debian-suite S  also search Debian suite S for --kernel packages (e.g. trixie)
      --filter F        vitest file filter inside each suite (default: kernel.test)
      --suite DIR       run this package dir instead of the discovered ones (repeatable)
  -j, --jobs N          guests booted at once (default: host CPUs, at most the kernel count)
      --timeout S       per guest, seconds (default: 1200); --idle-timeout S: no console output (default: 240)
      --update-expected rewrite tools/vmtest/expected.json from this run's counts
      --refresh         re-read the Debian archive lists now (default: when older than 6 h)
      --list            resolve and print the kernels, boot nothing
      --self-test       also run tools/vmtest's own guest checks (mounts, loopback, tools, uid 65534)
  -v, --verbose         stream the guests' consoles
      --keep            keep the run directory (initramfs) under .cache/vmtest
      --guest-transforms  let the guests transform the TypeScript themselves (default: the host
                        fills vitest's module cache for them, lib/transforms.mjs)
  -h, --help`;

let opts;
try {
  opts = parseArgs({
    allowPositionals: false,
    options: {
      kernel: { type: 'string', short: 'k', multiple: true, default: [] },
      config: { type: 'string' },
      'qemu-cpu': { type: 'string' },
      'qemu-accel': { type: 'string' },
      cpus: { type: 'string' },
      append: { type: 'string', default: '' },
      'debian-suite': { type: 'string', multiple: true, default: [] },
      filter: { type: 'string' },
      suite: { type: 'string', multiple: true, default: [] },
      jobs: { type: 'string', short: 'j' },
      timeout: { type: 'string', default: '1200' },
      'idle-timeout': { type: 'string', default: '240' },
      'update-expected': { type: 'boolean', default: false },
      refresh: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      'self-test': { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
      keep: { type: 'boolean', default: false },
      'guest-transforms': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (e) {
  console.error(`${e.message}\n\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

const DEFAULT_FILTER = 'kernel.test';
const filter = opts.filter ?? DEFAULT_FILTER;
// Each guest runs single-threaded TCG (one busy host thread): one guest per host CPU, so that
// each row's guest time is its own (rows have a budget of 6 minutes). One more guest finished a
// short 3-kernel matrix sooner on 2 cores (-j1 243 s, -j2 164 s, -j3 134 s), but a third guest
// stretches every row by half, and the whole matrix took about as long.
const jobs = Math.max(1, Number(opts.jobs) || availableParallelism());
const LIST_FILE = join(VMTEST, 'kernels.json');
// vCPUs of a guest: --cpus, else the kernel entry's cpus, else guest.cpus.
const cpusOf = (k, list) => Number(opts.cpus ?? k.cpus ?? list.guest.cpus ?? 2);
const EXPECTED_FILE = join(VMTEST, 'expected.json');
const runDir = join(CACHE, `run-${process.pid}`);
const logDir = join(CACHE, 'logs');

// No QEMU outlives the runner: kill them on every way out.
let exiting = false;
function cleanup() {
  killAll('SIGKILL');
  if (!opts.keep) rmSync(runDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(sig, () => {
    if (exiting) return;
    exiting = true;
    if (children.size) log(`${sig}: killing ${children.size} QEMU process(es)`);
    killAll('SIGKILL');
    // Reap them (no zombies left behind), but never wait long.
    const end = Date.now() + 3000;
    const done = () => {
      if (children.size && Date.now() < end) return setTimeout(done, 20);
      cleanup();
      process.exit(code);
    };
    done();
  });
}

/** Workspace package dirs (pnpm-workspace.yaml) that hold *.kernel.test.* files. */
function discoverSuites() {
  const ws = readFileSync(join(REPO, 'pnpm-workspace.yaml'), 'utf8');
  const globs = [];
  let inPackages = false;
  for (const line of ws.split('\n')) {
    if (/^packages:\s*$/.test(line)) inPackages = true;
    else if (/^\S/.test(line)) inPackages = false;
    else if (inPackages) {
      const m = /^\s*-\s*['"]?([^'"#\s]+)['"]?/.exec(line);
      if (m) globs.push(m[1]);
    }
  }
  const dirs = [];
  for (const g of globs) {
    if (g.endsWith('/*')) {
      const base = join(REPO, g.slice(0, -2));
      if (existsSync(base)) for (const d of readdirSync(base).sort()) dirs.push(join(base, d));
    } else dirs.push(join(REPO, g));
  }
  const hasKernelTests = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
      if (e.isDirectory() && hasKernelTests(join(d, e.name))) return true;
      if (e.isFile() && /\.kernel\.test\.[cm]?[jt]sx?$/.test(e.name)) return true;
    }
    return false;
  };
  return dirs.filter((d) => d !== VMTEST && existsSync(join(d, 'package.json')) && statSync(d).isDirectory() && hasKernelTests(d));
}

const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const safe = (s) => s.replace(/[^A-Za-z0-9._+-]+/g, '_');

async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length && !exiting) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

async function main() {
  const t0 = Date.now();
  const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
  const list = JSON.parse(readFileSync(LIST_FILE, 'utf8'));
  const expected = existsSync(EXPECTED_FILE) ? JSON.parse(readFileSync(EXPECTED_FILE, 'utf8')) : { kernels: {} };
  for (const tool of ['qemu-system-x86_64', 'busybox', 'ldd']) if (!which(tool)) throw new Error(`${tool} is not installed (tools/run.sh setup installs qemu-system-x86, busybox-static)`);

  const kernels = resolveKernels(list, opts.kernel, { config: opts.config, debianSuites: opts['debian-suite'], refresh: opts.refresh });
  log(`${kernels.length} kernel(s) ready at ${secs()} s`);
  if (opts.list) {
    for (const k of kernels) console.log(`${k.name}\t${k.release}\t${k.source}\t${relative(REPO, k.vmlinuz)}`);
    return 0;
  }

  const suites = [...new Set([...(opts['self-test'] ? [VMTEST] : []), ...(opts.suite.length ? opts.suite.map((s) => resolve(REPO, s)) : discoverSuites())])];
  if (suites.length === 0) throw new Error('no workspace package has *.kernel.test.* files (or pass --suite DIR)');
  for (const s of suites) if (!existsSync(join(s, 'package.json'))) throw new Error(`--suite ${s}: not a package directory`);
  const defaultRun = filter === DEFAULT_FILTER && opts.suite.length === 0 && !opts['self-test'];
  const probe = join(REPO, 'packages/loader/dist/index.js');

  // Run directories of runners that died without cleaning up (SIGKILL).
  if (existsSync(CACHE)) {
    for (const d of readdirSync(CACHE)) {
      const pid = Number(/^run-(\d+)$/.exec(d)?.[1]);
      if (!pid || pid === process.pid) continue;
      try {
        process.kill(pid, 0);
      } catch (e) {
        if (e.code === 'ESRCH') rmSync(join(CACHE, d), { recursive: true, force: true });
      }
    }
  }
  mkdirSync(runDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const files = {
    init: readFileSync(join(VMTEST, 'guest/init.sh'), 'utf8'),
    'vmtest/summarize.mjs': { data: readFileSync(join(VMTEST, 'guest/summarize.mjs')), mode: 0o644 },
  };
  if (!opts['guest-transforms']) {
    // A failure here is not the tests': the guests then transform for themselves, and say so.
    try {
      const t = primeTransforms(join(runDir, 'transforms'), { suites, filter });
      Object.assign(files, t.files);
      log(`transforms: ${t.count} modules (${(t.bytes / 2 ** 20).toFixed(1)} MiB) made on the host in ${t.seconds.toFixed(1)} s`);
    } catch (e) {
      log(`note: no host transforms, the guests make their own: ${e.message}`);
      opts['guest-transforms'] = true;
    }
  }
  // A row of kernels.json may run only some suites (its `suites`), unless --suite says which.
  const suitesOf = (k) => (k.suites && !opts.suite.length ? k.suites.map((s) => resolve(REPO, s)) : suites);
  for (const k of kernels) for (const s of suitesOf(k)) if (!suites.includes(s)) throw new Error(`kernels.json ${k.name}: suite ${relative(REPO, s)} has no kernel tests`);
  kernels.forEach((k, i) => {
    const env = {
      TRACER_BPF_KERNEL_NAME: k.name,
      TRACER_BPF_KERNEL_CONFIG: `/boot/config-${k.release}`,
      VMTEST_REPO: REPO,
      VMTEST_NODE: process.execPath,
      VMTEST_SUITES: suitesOf(k).join(' '),
      VMTEST_FILTER: filter,
      VMTEST_PROBE: existsSync(probe) ? probe : '',
      ...(opts['guest-transforms'] ? {} : { VMTEST_TRANSFORMS: GUEST_DIR }),
    };
    files[`vmtest/k/${i}/env`] = { data: Object.entries(env).map(([a, b]) => `export ${a}=${shq(b)}\n`).join(''), mode: 0o644 };
  });
  const initrd = join(runDir, 'initrd.cpio');
  const built = buildInitramfs(initrd, { kernels, guest: list.guest, files });
  log(`initramfs: ${(built.bytes / 2 ** 20).toFixed(0)} MiB, ${built.files} workspace entries, in ${built.seconds.toFixed(1)} s (suites: ${suites.map((s) => relative(REPO, s)).join(', ')})`);
  for (const n of built.notes) log(`note: ${n}`);
  for (const k of kernels) for (const n of k.moduleNotes ?? []) log(`note [${k.name}]: ${n}`);

  const timeoutS = Number(opts.timeout);
  const idleTimeoutS = Number(opts['idle-timeout']);
  log(`booting ${kernels.length} kernel(s), ${Math.min(jobs, kernels.length)} at a time`);
  const runs = await pool(kernels, jobs, async (k, i) => {
    const dup = kernels.slice(0, i).filter((x) => x.name === k.name).length;
    const logFile = join(logDir, `${safe(k.name)}${dup ? `.${dup + 1}` : ''}.log`);
    const append = `console=ttyS0 quiet panic=-1 rdinit=/init vmtest.k=${i} vmtest.cpus=${cpusOf(k, list)} ${k.append ?? ''} ${opts.append}`.replace(/\s+/g, ' ').trim();
    const r = await boot({
      args: qemuArgs({ vmlinuz: k.vmlinuz, initrd, append, accel: opts['qemu-accel'] ?? list.guest.accel ?? 'tcg', cpu: opts['qemu-cpu'] ?? list.guest.cpu ?? 'max', cpus: cpusOf(k, list), memoryMiB: list.guest.memoryMiB ?? 2048 }),
      logFile,
      timeoutS,
      idleTimeoutS,
      onLine: (l) => {
        if (opts.verbose) process.stderr.write(`[${k.name}] ${l}\n`);
        else if (l.startsWith('TRACER_BPF_BOOTED')) log(`[${k.name}] booted (${l.split(' ').slice(1).join(' ')})`);
      },
    });
    if (!exiting) log(`[${k.name}] done in ${r.seconds.toFixed(1)} s${r.error ? `: ${r.error}` : ''}`);
    return { kernel: k, logFile, ...r };
  });

  if (exiting) return new Promise(() => {}); // a signal handler is finishing the run

  // Rows, checks, details.
  const rows = [];
  const details = [];
  let failed = false;
  const newExpected = { ...expected, kernels: { ...expected.kernels } };
  for (const r of runs) {
    const k = r.kernel;
    const res = r.result;
    const t = res ? totals(res) : null;
    const problems = [];
    const notes = [];
    if (r.error) problems.push(r.error);
    if (res?.error) problems.push(res.error);
    for (const s of res?.suites ?? []) {
      if (s.error) problems.push(`${s.dir}: ${s.error}`);
      else if (s.exit !== 0 && !(t?.failed > 0)) problems.push(`${s.dir}: vitest exited ${s.exit} with no failed test (an unhandled error or a crashed worker: see the log)`);
    }
    if (t?.failed) problems.push(`${t.failed} test(s) failed`);
    if (res && !res.error && res.suites?.length && t.passed + t.failed + t.skipped === 0) problems.push('no test ran');
    if (res && !res.error && k.listed && defaultRun) {
      const c = checkExpected(res, expected.kernels[k.name]);
      problems.push(...c.problems);
      notes.push(...c.notes);
      if (opts['update-expected']) {
        if (r.error || res.suites?.some((s) => s.error)) notes.push('expected.json NOT updated for this kernel: its run did not finish');
        else {
          const { entry, kept } = expectationOf(res, expected.kernels[k.name]);
          newExpected.kernels[k.name] = entry;
          for (const f of kept) notes.push(`expected.json: ${f} has failures, its entry was ${expected.kernels[k.name]?.files?.[f] ? 'kept' : 'not recorded'}`);
        }
      }
    } else if (k.listed === false) notes.push('not in kernels.json: counts not checked against expected.json');
    else if (!defaultRun) notes.push('custom --filter/--suite: counts not checked against expected.json');
    if (res?.probeError) notes.push(`feature probe failed: ${res.probeError}`);
    if (res?.cpus !== undefined && res.cpus !== cpusOf(k, list)) problems.push(`guest saw ${res.cpus} CPUs`);
    failed ||= problems.length > 0;
    rows.push({
      name: k.name,
      release: res?.release ?? k.release,
      backends: res?.backends ? res.backends.join(',') : '?',
      passed: t?.passed,
      failed: t?.failed,
      skipped: t?.skipped,
      seconds: r.seconds,
      status: problems.length ? 'FAIL' : 'ok',
    });
    if (problems.length || notes.length) {
      const d = [`${k.name} (${k.source}; log: ${relative(REPO, r.logFile)})`];
      for (const p of problems) d.push(`  FAIL ${p}`);
      for (const f of res?.failures ?? []) d.push(`  - ${f.file} > ${f.test}\n      ${f.message}`);
      for (const n of notes) d.push(`  note: ${n}`);
      if (problems.length && !res?.failures?.length) {
        d.push('  last console lines:');
        for (const l of r.tail.slice(-25)) d.push(`    | ${l}`);
      }
      details.push(d.join('\n'));
    }
  }

  console.log('');
  console.log(table(rows));
  if (details.length) console.log('\n' + details.join('\n\n'));
  if (opts['update-expected']) {
    if (!defaultRun) log('--update-expected ignored: it needs the default filter and suites');
    else {
      const order = list.kernels.map((k) => k.name);
      const sorted = Object.fromEntries(Object.entries(newExpected.kernels).sort(([a], [b]) => (order.indexOf(a) + 1 || 1e9) - (order.indexOf(b) + 1 || 1e9)));
      const out = {
        $comment: 'Tests each kernel of kernels.json must pass (per file, filter "kernel.test"); fewer passed tests fail the run. Rewrite with: pnpm test:kernels --update-expected',
        kernels: sorted,
      };
      writeFileSync(EXPECTED_FILE, JSON.stringify(out, null, 2) + '\n');
      log(`wrote ${relative(REPO, EXPECTED_FILE)}`);
    }
  }
  console.log(`\n${failed ? 'FAILED' : 'passed'}: ${kernels.length} kernel(s) in ${secs()} s`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(`ERROR: ${e.stack ?? e}`);
    cleanup();
    process.exit(1);
  },
);
