// Vitest's transformed modules, made on the host for the guests. Under TCG a
// guest took 9-10 s per suite to transform the TypeScript of its test files
// and of the sources they import, and as long again to import them; vitest's
// module cache (experimental.fsModuleCache, keyed by path, content and
// config, never by machine) lets the guest read them ready-made. The host
// fills it with `vitest list`, which imports every test file of the run the
// guests will make (same config, same filter), and the files go into the
// initramfs at GUEST_DIR (tools/vmtest/guest/vitest.projects.mjs points
// vitest there through VMTEST_TRANSFORMS).
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, run, VMTEST } from './util.mjs';

export const GUEST_DIR = '/vmtest/transforms';

/**
 * Fills `dir` (emptied first) with the transforms of the suites' test files
 * that match `filter`. Returns the files for the initramfs (guest path ->
 * entry), their count and bytes, and the seconds it took.
 */
export function primeTransforms(dir, { suites, filter }) {
  const t0 = Date.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const vitest = join(REPO, 'node_modules/vitest/vitest.mjs');
  run(process.execPath, [vitest, 'list', filter, '--no-isolate', '--config', join(VMTEST, 'guest/vitest.projects.mjs'), '--root', REPO], {
    what: 'vitest list',
    cwd: REPO,
    env: { ...process.env, VMTEST_SUITES: suites.join(' '), VMTEST_TRANSFORMS: dir },
    timeout: 180_000,
  });
  const files = {};
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (!statSync(p).isFile()) continue;
    const data = readFileSync(p);
    bytes += data.length;
    files[`${GUEST_DIR.slice(1)}/${name}`] = { data, mode: 0o644 };
  }
  return { files, count: Object.keys(files).length, bytes, seconds: (Date.now() - t0) / 1000 };
}
