// Results: totals per kernel, the check against tools/vmtest/expected.json, and the table.
// Shared with tools/hosttest (the host suites pinned per package in tools/hosttest/expected.json):
// a "result" is { files: { <repo-relative test file>: { passed, failed, skipped } } }, an
// expectation { passed, skipped, files: { <file>: { passed, skipped } } }.
import { relative } from 'node:path';

/**
 * Counts per test file from a vitest JSON report (--reporter=json), keyed by
 * path relative to `repo`. A test that did not finish counts as failed, and so
 * does a file that failed outside any test (import error, hook); `failures`
 * lists them (at most `max`). The same reading as guest/summarize.mjs, which
 * stays import-free because it runs alone in the guest.
 */
export function countVitestReport(report, repo, max = 20) {
  const files = {};
  const failures = [];
  const fail = (file, test, message) => {
    if (failures.length < max) failures.push({ file, test, message: String(message).split('\n').slice(0, 3).join(' | ').slice(0, 400) });
  };
  for (const f of report.testResults ?? []) {
    const file = relative(repo, f.name);
    const c = (files[file] = { passed: 0, failed: 0, skipped: 0 });
    for (const a of f.assertionResults ?? []) {
      if (a.status === 'passed') c.passed++;
      else if (a.status === 'skipped' || a.status === 'todo') c.skipped++;
      else {
        c.failed++;
        fail(file, a.fullName, a.status === 'failed' ? (a.failureMessages ?? []).join('\n') : `did not run to the end (status ${a.status})`);
      }
    }
    if (f.status === 'failed' && c.failed === 0) {
      c.failed++;
      fail(file, '(file)', f.message ?? 'failed outside any test');
    }
  }
  return { files, failures };
}

export function totals(result) {
  const t = { passed: 0, failed: 0, skipped: 0 };
  for (const c of Object.values(result?.files ?? {})) {
    t.passed += c.passed;
    t.failed += c.failed;
    t.skipped += c.skipped;
  }
  return t;
}

/**
 * The expected.json entry after this result: every file that ran without a
 * failed (or unfinished) test is recorded; a file with failures keeps its old
 * entry, if any. Returns { entry, kept: [files not updated] }.
 */
export function expectationOf(result, old) {
  const files = {};
  const kept = [];
  for (const [f, c] of Object.entries(result.files)) {
    if (c.failed === 0) files[f] = { passed: c.passed, skipped: c.skipped };
    else {
      kept.push(f);
      if (old?.files?.[f]) files[f] = old.files[f];
    }
  }
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
  const sum = (k) => Object.values(sorted).reduce((n, c) => n + c[k], 0);
  return { entry: { release: result.release, passed: sum('passed'), skipped: sum('skipped'), files: sorted }, kept };
}

/**
 * Problems (fail the run) and notes (do not) from comparing a guest's counts
 * with the manifest: fewer passed tests than expected, per file or in total,
 * or an expected file that did not run, is a failure. `update` is the command
 * that rewrites the manifest, for the notes.
 */
export function checkExpected(result, exp, update = 'pnpm test:kernels --update-expected') {
  const problems = [];
  const notes = [];
  if (!exp) {
    notes.push(`no entry in expected.json (run \`${update}\` to record one)`);
    return { problems, notes };
  }
  const t = totals(result);
  for (const [f, e] of Object.entries(exp.files ?? {})) {
    const got = result.files[f];
    if (!got) problems.push(`${f}: expected ${e.passed} passed, the file did not run`);
    else if (got.passed < e.passed) problems.push(`${f}: ${got.passed} passed, expected ${e.passed}`);
    else if (got.passed > e.passed || got.skipped !== e.skipped) notes.push(`${f}: ${got.passed} passed / ${got.skipped} skipped, expected ${e.passed} / ${e.skipped}`);
  }
  if (t.passed < exp.passed) problems.push(`${t.passed} tests passed in total, expected ${exp.passed}`);
  for (const f of Object.keys(result.files)) if (!exp.files?.[f]) notes.push(`${f}: new file, not in expected.json`);
  if (notes.length) notes.push(`counts differ from expected.json: after a deliberate change, run \`${update}\``);
  return { problems, notes };
}

export function table(rows) {
  const head = ['kernel', 'release', 'backends', 'passed', 'failed', 'skipped', 'seconds', 'status'];
  const body = rows.map((r) => [r.name, r.release ?? '?', r.backends ?? '?', String(r.passed ?? '-'), String(r.failed ?? '-'), String(r.skipped ?? '-'), r.seconds.toFixed(1), r.status]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const num = new Set([3, 4, 5, 6]);
  const fmt = (cells) => cells.map((c, i) => (num.has(i) ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [fmt(head), fmt(w.map((n) => '-'.repeat(n))), ...body.map(fmt)].join('\n');
}
