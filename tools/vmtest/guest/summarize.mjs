// Runs in the guest after the suites: reads vitest's JSON reports and prints
// one "TRACER_BPF_RESULT {json}" line for the host. Plain Node, no imports
// from the workspace except the optional feature probe (in a child process, so
// a crash there cannot cost the result line).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { relative } from 'node:path';

const env = process.env;
const repo = env.VMTEST_REPO;
const suites = (env.VMTEST_SUITES ?? '').split(/\s+/).filter(Boolean);
const MAX_FAILURES = 20;
const BACKEND = /\bbackend (fentry|kprobe|tp_btf|tracepoint)\b/;

const result = { v: 1, name: env.TRACER_BPF_KERNEL_NAME, release: release(), cpus: cpus().length, suites: [], files: {}, failures: [] };

// One vitest run covers every suite (guest/vitest.projects.mjs): one JSON report, one exit code.
(() => {
  const suite = { dir: suites.map((dir) => relative(repo, dir) || '.').join(' + '), exit: null, error: null };
  result.suites.push(suite);
  const rcFile = '/tmp/vmtest/run.rc';
  if (existsSync(rcFile)) suite.exit = Number(readFileSync(rcFile, 'utf8').trim());
  const json = '/tmp/vmtest/run.json';
  if (!existsSync(json)) {
    suite.error = `vitest wrote no JSON report (exit ${suite.exit}): see the console log`;
    return;
  }
  let r;
  try {
    r = JSON.parse(readFileSync(json, 'utf8'));
  } catch (e) {
    suite.error = `unreadable JSON report: ${e.message}`;
    return;
  }
  for (const f of r.testResults ?? []) {
    const file = relative(repo, f.name);
    result.files[file] = { passed: 0, failed: 0, skipped: 0 };
    for (const a of f.assertionResults ?? []) {
      // Counted per file and, for tests that name their backend ("... backend kprobe ..."),
      // per file and backend: expected.json pins both, so a backend that silently ran
      // nothing fails its own count.
      const backend = BACKEND.exec(a.fullName ?? '')?.[1];
      const key = backend ? `${file} [backend ${backend}]` : file;
      const c = (result.files[key] ??= { passed: 0, failed: 0, skipped: 0 });
      if (a.status === 'passed') c.passed++;
      else if (a.status === 'failed') {
        c.failed++;
        if (result.failures.length < MAX_FAILURES)
          result.failures.push({ file, test: a.fullName, message: (a.failureMessages ?? []).join('\n').split('\n').slice(0, 3).join(' | ').slice(0, 400) });
      } else if (a.status === 'skipped' || a.status === 'todo') c.skipped++;
      else {
        // pending: queued or started but never finished (a crashed worker, a timeout of the whole run)
        c.failed++;
        if (result.failures.length < MAX_FAILURES) result.failures.push({ file, test: a.fullName, message: `did not run to the end (status ${a.status}): see the console log` });
      }
    }
    // A file that failed outside any test (import error, hook failure) has status failed and no failed test.
    const c = result.files[file];
    if (f.status === 'failed' && Object.entries(result.files).every(([k, x]) => (k !== file && !k.startsWith(`${file} [`)) || x.failed === 0)) {
      c.failed++;
      result.failures.push({ file, test: '(file)', message: String(f.message ?? 'failed outside any test').split('\n').slice(0, 3).join(' | ').slice(0, 400) });
    }
  }
  if (suite.exit !== 0 && !Object.keys(result.files).length) suite.error = `vitest exited ${suite.exit} without running a file`;
})();

// Backends this kernel offers, by the loader's own feature probes (the kernel
// suites check those probes against real use).
if (env.VMTEST_PROBE && existsSync(env.VMTEST_PROBE)) {
  const script = `import(${JSON.stringify(env.VMTEST_PROBE)}).then((m) => console.log(JSON.stringify(Object.fromEntries(Object.entries(m.probeFeatures()).map(([k, s]) => [k, s.supported])))))`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  try {
    const f = JSON.parse(r.stdout.trim().split('\n').pop());
    result.features = f;
    const names = { kprobes: 'kprobe', fentry: 'fentry', tpBtf: 'tp_btf', tracepoints: 'tracepoint', rawTracepoints: 'raw_tp' };
    result.backends = Object.entries(names).filter(([k]) => f[k]).map(([, v]) => v);
  } catch {
    result.probeError = (r.stderr || r.error?.message || 'no output').trim().split('\n').slice(-3).join(' | ').slice(0, 300);
  }
}

console.log(`TRACER_BPF_RESULT ${JSON.stringify(result)}`);
