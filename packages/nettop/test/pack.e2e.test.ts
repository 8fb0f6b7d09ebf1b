// Issue 11: the nettop package tarball with those of its workspace
// dependencies installs with npm in an empty folder on a machine with no
// compiler (the loader's addon is prebuilt), and `npx nettop --once` works
// there. pnpm packs each package, the tarballs are checked for what they need
// at run time, npm installs them with only node, npm, npx and sh on PATH, and
// nettop runs through npx over a TCP transfer this test makes.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConnectionRow, SampleDoc } from '../src/sample.js';
import { NOT_ROOT, nettop, tcpTransfer } from './e2e.js';
import { descendants, entryFiles, findFiles, mappedAddons, noCompilerEnv, pnpmPack, readPackageJson, relativeImports, run, unpack, workspaceClosure } from './pack.js';

const NETTOP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const PREBUILD = /^prebuilds\/linux-x64\/[^/]+\.node$/;

describe('the packed nettop installed with npm where there is no compiler', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'nettop-pack-')));
  const app = join(root, 'app');
  const bin = join(root, 'bin');
  const closure = workspaceClosure(NETTOP_DIR);
  const tarballs: string[] = [];
  let env: NodeJS.ProcessEnv | undefined;
  let installed = false;

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('pnpm packs nettop and every workspace package it depends on, each with what it needs at run time', { timeout: 60_000 }, async () => {
    // Those the checks below single out are among what the walk found.
    expect([...closure.keys()]).toEqual(expect.arrayContaining(['@tracer-bpf/nettop', '@tracer-bpf/tracer', '@tracer-bpf/loader', '@tracer-bpf/bpf']));
    for (const [name, dir] of closure) {
      const packed = await pnpmPack(dir, join(root, 'tarballs'));
      expect(packed.name).toBe(name);
      const u = join(root, 'unpacked', name);
      unpack(packed.filename, u);
      const pkg = readPackageJson(u);
      const specs = Object.entries({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies });
      expect(specs.filter(([, spec]) => spec.startsWith('workspace:')), `${name}: workspace: specs left`).toEqual([]);
      expect(entryFiles(pkg).filter((f) => !existsSync(join(u, f))), `${name}: entry points missing from the tarball`).toEqual([]);
      const dangling = packed.files
        .filter((f) => /\.[cm]?js$/.test(f))
        .flatMap((f) => relativeImports(readFileSync(join(u, f), 'utf8')).map((s) => posix.join(posix.dirname(f), s)))
        .filter((f) => !existsSync(join(u, f)));
      expect(dangling, `${name}: modules imported but not packed`).toEqual([]);
      tarballs.push(packed.filename);

      if (name === '@tracer-bpf/loader') {
        const prebuilds = packed.files.filter((f) => PREBUILD.test(f));
        expect(prebuilds, 'the loader ships a linux-x64 prebuild').not.toEqual([]);
        for (const f of prebuilds) expect(readFileSync(join(u, f)).subarray(0, 4).toString('latin1'), f).toBe('\x7fELF');
        // With a binding.gyp and no install script npm would run node-gyp rebuild.
        expect(packed.files).not.toContain('binding.gyp');
      }
      if (name === '@tracer-bpf/bpf') {
        // The compiled objects where the packed dist/ looks for them.
        const { objects } = (await import(pathToFileURL(join(u, 'dist', 'index.js')).href)) as { objects: Record<string, string> };
        expect(Object.keys(objects)).toContain('tracer');
        for (const path of Object.values(objects)) expect(existsSync(path), path).toBe(true);
        expect(packed.files).toContain('obj/tracer.bpf.o');
      }
      if (name === '@tracer-bpf/nettop') {
        expect(pkg.bin).toEqual({ nettop: './dist/cli.js' });
        expect(readFileSync(join(u, 'dist', 'cli.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
      }
    }
  });

  it('npm installs the tarballs in an empty folder with only node, npm, npx and sh on PATH, compiling nothing', { timeout: 180_000 }, async () => {
    expect(tarballs, 'packing failed (see the test above)').toHaveLength(closure.size);
    env = noCompilerEnv(bin, join(root, 'home'));
    // node-gyp-build comes from the registry.
    const ping = await run(['npm', 'ping', '--fetch-retries=0'], { cwd: root, env, timeoutMs: 30_000 });
    if (ping.code !== 0) {
      const why = ping.signal ? 'no answer in 30 s' : `exit ${ping.code}`;
      throw new Error(`the npm registry ${env.npm_config_registry} is unreachable (npm ping: ${why}); this test installs third-party dependencies from it:\n${ping.err}`);
    }
    mkdirSync(app);
    const init = await run(['npm', 'init', '-y'], { cwd: app, env, timeoutMs: 30_000 });
    expect(init.code, init.err).toBe(0);
    const install = await run(['npm', 'install', ...tarballs], { cwd: app, env, timeoutMs: 150_000 });
    expect(install.code, `npm install: ${install.err}${install.out}`).toBe(0);
    expect(install.out + install.err).not.toMatch(/node-gyp rebuild|gyp (info|ERR)|prebuild-install/);

    // Every workspace package once, at the top, from its tarball (none from the registry).
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string }> };
    const ours = Object.entries(lock.packages).filter(([path]) => path.includes('@tracer-bpf/'));
    expect(ours.map(([path]) => path).sort()).toEqual([...closure.keys()].map((n) => `node_modules/${n}`).sort());
    for (const [path, entry] of ours) expect(entry.resolved, path).toMatch(/^file:/);

    // No build: the only addon is the packed prebuild.
    const loader = join(app, 'node_modules', '@tracer-bpf', 'loader');
    expect(existsSync(join(loader, 'build'))).toBe(false);
    const addons = findFiles(join(app, 'node_modules'), /\.node$/);
    expect(addons.length).toBeGreaterThan(0);
    for (const a of addons) expect(a).toMatch(/^@tracer-bpf\/loader\/prebuilds\/linux-x64\/[^/]+\.node$/);
    installed = true;
  });

  it.skipIf(NOT_ROOT)(`npx nettop --once --json there: schema 1, a loopback TCP transfer exact, the prebuilt addon loaded${NOT_ROOT ? ` (skipped: ${NOT_ROOT})` : ''}`, { timeout: 60_000 }, async () => {
    expect(installed, 'npm install failed (see the test above)').toBe(true);
    // --verbose: its "tracing:" line says when the interval has begun. npm_config_yes=false: npx never fetches a package named nettop.
    const argv = ['/usr/bin/env', '-C', app, 'npm_config_yes=false', join(bin, 'npx'), 'nettop', '--once', '--interval', '1', '--json', '--verbose'];
    const n = nettop([], { env: env!, argv });
    let addons: string[];
    let t: Awaited<ReturnType<typeof tcpTransfer>>;
    try {
      await n.waitStderr(/tracing: /, 30_000);
      addons = mappedAddons(descendants(n.child.pid!));
      t = await tcpTransfer(1234, 100_000);
      expect(await n.exited, n.stderr()).toEqual({ code: 0, signal: null });
    } finally {
      // On a failure, nettop (below npx and sh) goes too.
      if (n.child.exitCode === null) {
        for (const pid of [...descendants(n.child.pid!), n.child.pid!]) {
          try {
            process.kill(pid);
          } catch {
            // already gone
          }
        }
      }
    }
    const loader = join(app, 'node_modules', '@tracer-bpf', 'loader');
    expect(addons).toEqual(findFiles(loader, PREBUILD).map((f) => join(loader, f)));
    expect(t.clientGot).toBe(100_000);

    const lines = n.stdout().trim().split('\n');
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]!) as SampleDoc;
    expect(doc.schema).toBe(1);
    // ss is not on this PATH: accuracy n/a.
    expect(doc.accuracy).toBeNull();
    const one = (local: number, remote: number): ConnectionRow[] => doc.connections.filter((r) => r.protocol === 'tcp' && r.localPort === local && r.remotePort === remote);
    expect(one(t.clientPort, t.serverPort)).toEqual([expect.objectContaining({ pid: process.pid, direction: 'outgoing', sentBytes: 1234, recvBytes: 100_000 })]);
    expect(one(t.serverPort, t.clientPort)).toEqual([expect.objectContaining({ pid: process.pid, direction: 'incoming', sentBytes: 100_000, recvBytes: 1234 })]);
  });
});
