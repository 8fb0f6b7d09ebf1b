// The license notices of what the prebuilt addon links statically travel in the
// published tarball: pack the loader as pnpm publishes it and check that every
// notice is inside, that the notices name every static library binding.gyp
// links at the version tools/native/deps.sh builds, and node-addon-api at the
// installed version. No root, no kernel.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgRoot = realpathSync(fileURLToPath(new URL('..', import.meta.url)));
const repoRoot = path.resolve(pkgRoot, '../..');
const notices = readFileSync(path.join(pkgRoot, 'THIRD_PARTY_NOTICES.md'), 'utf8');

/** Static libraries by their archive name in binding.gyp, and their row in the notices table. */
const LIBS: Record<string, { source: string; row: string }> = {
  'libbpf.a': { source: 'libbpf', row: 'libbpf' },
  'libelf.a': { source: 'elfutils', row: 'elfutils libelf' },
  'libz.a': { source: 'zlib', row: 'zlib' },
};

/** The version in the notices table row `| <name> | <version> | ...`. */
function rowVersion(name: string): string | undefined {
  return new RegExp(`^\\| ${name} \\| ([^ |]+) \\|`, 'm').exec(notices)?.[1];
}

function listDir(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listDir(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))]))
    .sort();
}

describe('third-party notices of the prebuilt addon', () => {
  let work = '';
  let files: string[] = [];

  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'tracer-bpf-notices-'));
    execFileSync('pnpm', ['pack', '--pack-destination', work], { cwd: pkgRoot, stdio: 'pipe' });
    const tgz = readdirSync(work).filter((f) => f.endsWith('.tgz'));
    expect(tgz).toHaveLength(1);
    files = execFileSync('tar', ['-tzf', path.join(work, tgz[0] as string)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''))
      .sort();
  }, 120_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs LICENSE, THIRD_PARTY_NOTICES.md and every license text, and the notices name exactly those texts', () => {
    expect(files).toContain('LICENSE');
    expect(files).toContain('THIRD_PARTY_NOTICES.md');
    const texts = listDir(path.join(pkgRoot, 'licenses')).map((f) => `licenses/${f}`);
    expect(files.filter((f) => f.startsWith('licenses/'))).toEqual(texts);
    // Every path under licenses/ the notices mention (the folder licenses/debian-copyright/ aside).
    const named = [...new Set(notices.match(/licenses\/[\w./-]+\w/g))].filter((f) => f !== 'licenses/debian-copyright').sort();
    expect(named).toEqual(texts);
  });

  it('names every library binding.gyp links statically, at the version tools/native/deps.sh builds', () => {
    const gyp = JSON.parse(readFileSync(path.join(pkgRoot, 'native', 'binding.gyp'), 'utf8')) as { targets: { libraries?: string[] }[] };
    const linked = gyp.targets.flatMap((t) => t.libraries ?? []).map((l) => path.basename(l)).sort();
    expect(linked).toEqual(Object.keys(LIBS).sort());
    const deps = readFileSync(path.join(repoRoot, 'tools', 'native', 'deps.sh'), 'utf8');
    const built = Object.fromEntries(
      (/^LIBS="([^"]*)"/m.exec(deps)?.[1] ?? '').split(/\s+/).filter(Boolean).map((l) => l.split(':') as [string, string]),
    );
    expect(Object.keys(built).sort()).toEqual(Object.values(LIBS).map((l) => l.source).sort());
    for (const lib of linked) {
      const { source, row } = LIBS[lib] as { source: string; row: string };
      expect(rowVersion(row), `${row} in THIRD_PARTY_NOTICES.md`).toBe(built[source]);
      expect(files, `${source}'s Debian copyright file`).toContain(`licenses/debian-copyright/${source}`);
    }
  });

  it('names node-addon-api, compiled into the addon, at its installed version', () => {
    const require = createRequire(path.join(pkgRoot, 'package.json'));
    const { version } = require('node-addon-api/package.json') as { version: string };
    expect(rowVersion('node-addon-api')).toBe(version);
  });

  it('ships the loader under MIT, as package.json says', () => {
    const manifest = JSON.parse(readFileSync(path.join(pkgRoot, 'package.json'), 'utf8')) as { license: string };
    expect(manifest.license).toBe('MIT');
    expect(readFileSync(path.join(pkgRoot, 'LICENSE'), 'utf8').split('\n')[0]).toBe('MIT License');
  });
});
