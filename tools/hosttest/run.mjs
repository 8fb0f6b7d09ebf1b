#!/usr/bin/env node
// The host test suites with pinned counts, as tools/vmtest pins the kernel matrix:
// runs every workspace package's `test` script through turbo with vitest's JSON
// reporter added, then checks the passed/skipped counts per package and per test
// file against tools/hosttest/expected.json. Fewer passed tests than pinned, or a
// pinned file or package that did not run, fails; more is a note. `pnpm test`
// runs this after the typecheck; `pnpm test --update-expected` rewrites the pins.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkExpected, countVitestReport, expectationOf, totals } from '../vmtest/lib/report.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const EXPECTED_FILE = join(HERE, 'expected.json');
const UPDATE = 'pnpm test --update-expected';
/** Where each package's vitest writes its JSON report (relative to the package; node_modules is ignored by git). */
const REPORT = 'node_modules/.hosttest/vitest.json';

const { values: opts } = parseArgs({
  options: {
    'update-expected': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log(`usage: node tools/hosttest/run.mjs [--update-expected]
  Runs \`turbo run test\` (every workspace package with a test script, vitest with a JSON report)
  and checks the counts against tools/hosttest/expected.json.
  --update-expected  rewrite expected.json from this run (files with failures keep their old pins)`);
  process.exit(0);
}
const log = (s) => console.log(`[hosttest] ${s}`);

/** Workspace package directories (pnpm-workspace.yaml `packages:` globs of the form dir or dir/*) that have a test script. */
function testedPackages() {
  const yaml = readFileSync(join(REPO, 'pnpm-workspace.yaml'), 'utf8');
  const globs = [];
  let inPackages = false;
  for (const line of yaml.split('\n')) {
    if (/^\S/.test(line)) inPackages = /^packages:\s*$/.test(line);
    else if (inPackages) {
      const m = /^\s+-\s+['"]?([^'"\s]+)['"]?\s*$/.exec(line);
      if (m) globs.push(m[1]);
    }
  }
  const dirs = globs.flatMap((g) => {
    if (!g.endsWith('/*')) return [g];
    const base = g.slice(0, -2);
    return readdirSync(join(REPO, base), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `${base}/${d.name}`);
  });
  return dirs
    .filter((d) => existsSync(join(REPO, d, 'package.json')))
    .filter((d) => JSON.parse(readFileSync(join(REPO, d, 'package.json'), 'utf8')).scripts?.test)
    .sort();
}

const packages = testedPackages();
for (const p of packages) rmSync(join(REPO, p, REPORT), { force: true });

const turbo = join(REPO, 'node_modules', '.bin', 'turbo');
// --continue: a package whose build or suite fails does not hide the counts of the others.
const args = ['run', 'test', '--concurrency=1', '--continue=dependencies-successful', '--', '--reporter=default', '--reporter=json', `--outputFile.json=${REPORT}`];
log(`turbo ${args.join(' ')}`);
const run = spawnSync(turbo, args, { cwd: REPO, stdio: 'inherit' });
if (run.error) {
  log(`cannot run turbo: ${run.error.message}`);
  process.exit(1);
}

const expected = existsSync(EXPECTED_FILE) ? JSON.parse(readFileSync(EXPECTED_FILE, 'utf8')) : { packages: {} };
const problems = [];
const notes = [];
const results = {};
const failures = [];
for (const p of packages) {
  const file = join(REPO, p, REPORT);
  if (!existsSync(file)) {
    problems.push(`${p}: no vitest JSON report (${relative(REPO, file)}): its test script did not run vitest to the end`);
    continue;
  }
  const counted = countVitestReport(JSON.parse(readFileSync(file, 'utf8')), REPO);
  results[p] = { files: counted.files };
  failures.push(...counted.failures);
  const c = checkExpected(results[p], expected.packages?.[p], UPDATE);
  problems.push(...c.problems.map((s) => `${p}: ${s}`));
  notes.push(...c.notes.filter((s) => !s.startsWith('counts differ')).map((s) => `${p}: ${s}`));
}
for (const p of Object.keys(expected.packages ?? {})) {
  if (!packages.includes(p)) problems.push(`${p}: pinned in expected.json, but no workspace package there has a test script`);
}
if (notes.length) notes.push(`counts differ from tools/hosttest/expected.json: after a deliberate change, run \`${UPDATE}\``);

// The table: one row per package.
const rows = packages.map((p) => {
  const t = totals(results[p]);
  const e = expected.packages?.[p];
  return [p, results[p] ? String(t.passed) : '-', results[p] ? String(t.failed) : '-', results[p] ? String(t.skipped) : '-', e ? `${e.passed}/${e.skipped}` : '-'];
});
const head = ['package', 'passed', 'failed', 'skipped', 'pinned'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [head, w.map((n) => '-'.repeat(n)), ...rows]) console.log(r.map((c, i) => (i ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  '));

for (const f of failures) console.log(`FAILED ${f.file} > ${f.test}: ${f.message}`);

let exit = run.status === 0 ? 0 : 1;
if (run.status !== 0) problems.push(`turbo run test exited ${run.status ?? run.signal}`);

if (opts['update-expected']) {
  const next = { $comment: expected.$comment, packages: {} };
  next.$comment = `Host test counts per workspace package and test file (pnpm test: every package's vitest on this machine's kernel); fewer passed tests fail the run. Rewrite with: ${UPDATE}`;
  for (const p of packages) {
    if (!results[p]) {
      if (expected.packages?.[p]) next.packages[p] = expected.packages[p];
      notes.push(`${p}: no report, its pins were ${expected.packages?.[p] ? 'kept' : 'not recorded'}`);
      continue;
    }
    const { entry, kept } = expectationOf(results[p], expected.packages?.[p]);
    delete entry.release;
    next.packages[p] = entry;
    for (const f of kept) notes.push(`${f}: has failures, its pins were ${expected.packages?.[p]?.files?.[f] ? 'kept' : 'not recorded'}`);
  }
  writeFileSync(EXPECTED_FILE, `${JSON.stringify(next, null, 2)}\n`);
  log(`wrote ${relative(REPO, EXPECTED_FILE)}`);
  // Updating pins the new counts; failures still fail the run.
  problems.splice(0, problems.length, ...problems.filter((s) => s.startsWith('turbo ') || / no vitest JSON report/.test(s)));
  notes.splice(0, notes.length, ...notes.filter((s) => / pins were /.test(s)));
}

for (const n of notes) log(`note: ${n}`);
for (const p of problems) log(`FAIL: ${p}`);
if (problems.length) exit = 1;
log(exit === 0 ? 'host suites: ok' : 'host suites: FAILED');
process.exit(exit);
