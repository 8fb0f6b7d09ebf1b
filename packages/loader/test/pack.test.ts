// The user's install: pack the loader as it would be published, npm-install
// the tarball into an empty folder outside the repository with a PATH that
// holds only node and npm (no compiler, make or python, no node headers), and
// use it from ESM and from CommonJS on the real kernel: open the test object,
// load it, attach its tp_btf program, send known bytes over loopback and read
// them back from the map. Nothing may be compiled and no install script may run.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AF_INET, FLOW_KIND, flow } from './flow.js';

const PKG = '@tracer-bpf/loader';
const pkgRoot = realpathSync(fileURLToPath(new URL('..', import.meta.url)));
const repoRoot = path.resolve(pkgRoot, '../..');
const SETUP_TIMEOUT = 240_000; // pnpm pack + npm install (reaches the registry for node-gyp-build)
const RUN_TIMEOUT = 60_000;
const UP = 4321; // bytes the client sends
const DOWN = 1234; // bytes the server answers

/** Commands that must not be found on the install PATH. */
const TOOLCHAIN = ['cc', 'gcc', 'g++', 'c++', 'clang', 'make', 'python', 'python3', 'node-gyp'];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Where `cmd` resolves on `pathVar`, like `command -v`; undefined when it does not. */
function which(cmd: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** npm's own entry script (npm-cli.js), so that the install PATH can hold a symlink to it alone. */
function findNpmCli(): string {
  const onPath = which('npm', process.env.PATH ?? '');
  if (onPath) {
    const real = realpathSync(onPath);
    if (path.basename(real) === 'npm-cli.js') return real;
  }
  const beside = path.resolve(path.dirname(realpathSync(process.execPath)), '../lib/node_modules/npm/bin/npm-cli.js');
  if (statSync(beside, { throwIfNoEntry: false })?.isFile()) return beside;
  throw new Error(`cannot find npm-cli.js (npm on PATH: ${onPath ?? 'none'}; tried ${beside})`);
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions & { what: string }): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: SETUP_TIMEOUT, maxBuffer: 64 << 20, ...opts });
  const stdout = String(r.stdout ?? '');
  const stderr = String(r.stderr ?? '');
  if (r.error || r.status !== 0) {
    throw new Error(
      `${opts.what} failed (${r.error?.message ?? `exit ${r.status}, signal ${r.signal}`})\n$ ${cmd} ${args.join(' ')}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`,
    );
  }
  return { stdout, stderr };
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, base));
    else out.push(path.relative(base, p));
  }
  return out.sort();
}

// The body both consumer scripts share: it expects `net`, `require`, `resolved`,
// `kind` and the loader's exports in scope.
const SCRIPT_BODY = String.raw`
function exchange(server, port, up, down) {
  return new Promise((resolve, reject) => {
    let clientPort = 0;
    let pending = 2;
    const done = () => { if (--pending === 0) resolve(clientPort); };
    server.once('connection', (sock) => {
      let got = 0;
      sock.on('data', (d) => { got += d.length; if (got === up) sock.end(Buffer.alloc(down, 0x62)); });
      sock.on('error', reject);
      sock.on('close', done);
    });
    const c = net.connect({ host: '127.0.0.1', port }, () => { clientPort = c.localPort; c.write(Buffer.alloc(up, 0x61)); });
    let got = 0;
    c.on('data', (d) => { got += d.length; });
    c.on('end', () => { if (got !== down) reject(new Error('client read ' + got + ' bytes, expected ' + down)); c.end(); });
    c.on('error', reject);
    c.on('close', done);
  });
}

async function main() {
  const [objectPath, appDir, up, down] = process.argv.slice(2);
  if (!resolved.startsWith(appDir + '/node_modules/')) {
    throw new Error(kind + ': ' + '${PKG}' + ' resolved to ' + resolved + ', not inside ' + appDir);
  }
  const features = probeFeatures();
  const server = net.createServer();
  await new Promise((res, rej) => { server.once('error', rej); server.listen(0, '127.0.0.1', res); });
  const port = server.address().port;
  const obj = BpfObject.open(objectPath);
  try {
    obj.setGlobal('target_port', port);
    obj.program('count_send').setAutoload(true);
    await obj.load();
    const link = obj.program('count_send').attach();
    const clientPort = await exchange(server, port, Number(up), Number(down));
    const map = obj.map('flows');
    const dump = map.readAll();
    // Raw entries: the test decodes them with the one flow layout (@tracer-bpf/bpf/test).
    const entries = [];
    for (let i = 0; i < dump.count; i++) {
      entries.push({
        key: dump.keys.subarray(i * map.keySize, (i + 1) * map.keySize).toString('hex'),
        value: dump.values.subarray(i * map.valueSize, (i + 1) * map.valueSize).toString('hex'),
      });
    }
    const addons = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
    console.log(JSON.stringify({
      kind, resolved, addons, libbpfVersion: libbpfVersion(),
      features: { kernelBtf: features.kernelBtf.supported, tpBtf: features.tpBtf.supported, batchOps: features.batchOps.supported },
      link: { kind: link.kind, target: link.target },
      links: obj.links.length, port, clientPort, method: dump.method, entries,
    }));
  } finally {
    obj.close();
    server.close();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
`;

const ESM_SCRIPT = `import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { BpfObject, probeFeatures, libbpfVersion } from '${PKG}';

const kind = 'esm';
const require = createRequire(import.meta.url);
const resolved = fileURLToPath(import.meta.resolve('${PKG}'));
${SCRIPT_BODY}`;

const CJS_SCRIPT = `'use strict';
const net = require('node:net');
const { BpfObject, probeFeatures, libbpfVersion } = require('${PKG}');

const kind = 'cjs';
const resolved = require.resolve('${PKG}');
${SCRIPT_BODY}`;

interface ScriptResult {
  kind: string;
  resolved: string;
  addons: string[];
  libbpfVersion: string;
  features: { kernelBtf: boolean; tpBtf: boolean; batchOps: boolean };
  link: { kind: string; target: string };
  links: number;
  port: number;
  clientPort: number;
  method: string;
  /** The flows map, hex key and value per entry. */
  entries: { key: string; value: string }[];
}

describe('the packed loader, installed with npm where nothing can be compiled', () => {
  let work = '';
  let tarball = '';
  let appDir = '';
  let binDir = '';
  let installed = '';
  let env: NodeJS.ProcessEnv = {};
  let npmOutput = '';
  const timings: Record<string, number> = {};

  beforeAll(() => {
    // Outside the repository: a real consumer's folder.
    work = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'tracer-bpf-pack-')));
    expect(path.relative(repoRoot, work).startsWith('..')).toBe(true);
    const packDir = path.join(work, 'pack');
    const homeDir = path.join(work, 'home');
    binDir = path.join(work, 'bin');
    appDir = path.join(work, 'app');
    for (const d of [packDir, homeDir, binDir, appDir]) mkdirSync(d);

    // 1. Pack as pnpm publishes (it rewrites workspace: ranges).
    let t = Date.now();
    run('pnpm', ['pack', '--pack-destination', packDir], { cwd: pkgRoot, what: 'pnpm pack' });
    timings.pack = Date.now() - t;
    const tgz = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
    expect(tgz).toHaveLength(1);
    tarball = path.join(packDir, tgz[0] as string);

    // The registry the developer's npm uses (a mirror stays a mirror), read before the environment is emptied.
    const registry = run(findNpmCli(), ['config', 'get', 'registry'], { cwd: homeDir, what: 'npm config get registry' }).stdout.trim();

    // 2. A PATH with node and npm only.
    symlinkSync(realpathSync(process.execPath), path.join(binDir, 'node'));
    symlinkSync(findNpmCli(), path.join(binDir, 'npm'));
    writeFileSync(path.join(homeDir, '.npmrc'), 'audit=false\nfund=false\nupdate-notifier=false\n');
    env = {
      PATH: binDir,
      HOME: homeDir,
      TMPDIR: work,
      LANG: 'C.UTF-8',
      npm_config_userconfig: path.join(homeDir, '.npmrc'),
      npm_config_cache: path.join(work, 'npm-cache'),
      ...(/^https?:\/\//.test(registry) && { npm_config_registry: registry }),
    };
    // Only what reaching the registry may need passes through (no nodedir, CC, PYTHON, NODE_OPTIONS, ...).
    for (const k of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE']) {
      if (process.env[k]) env[k] = process.env[k];
    }

    // 3. npm install the tarball; --foreground-scripts and info logging show any lifecycle script npm runs.
    writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'tracer-bpf-pack-consumer', version: '1.0.0', private: true }));
    t = Date.now();
    const r = run('npm', ['install', '--foreground-scripts', '--loglevel=info', '--no-audit', '--no-fund', tarball], {
      cwd: appDir,
      env,
      what: 'npm install of the packed loader',
    });
    timings.install = Date.now() - t;
    npmOutput = `${r.stdout}\n${r.stderr}`;
    installed = path.join(appDir, 'node_modules', PKG);

    writeFileSync(path.join(appDir, 'use-loader.mjs'), ESM_SCRIPT);
    writeFileSync(path.join(appDir, 'use-loader.cjs'), CJS_SCRIPT);
  }, SETUP_TIMEOUT);

  afterAll(() => {
    if (Object.keys(timings).length) console.log(`pack test timings (ms): ${JSON.stringify(timings)}`);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs a package.json with no workspace: ranges, no install scripts and only node-gyp-build as a dependency', () => {
    const manifestText = run('tar', ['-xzOf', tarball, 'package/package.json'], { what: 'read packed package.json' }).stdout;
    expect(manifestText).not.toContain('workspace:');
    const manifest = JSON.parse(manifestText) as {
      name: string;
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
      scripts?: Record<string, string>;
      gypfile?: boolean;
    };
    expect(manifest.name).toBe(PKG);
    expect(Object.keys(manifest.dependencies ?? {})).toEqual(['node-gyp-build']);
    for (const deps of [manifest.dependencies, manifest.optionalDependencies, manifest.peerDependencies]) {
      for (const name of Object.keys(deps ?? {})) expect(name.startsWith('@tracer-bpf/'), `${name} leaks into the published dependencies`).toBe(false);
    }
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(manifest.scripts?.[s], `scripts.${s}`).toBeUndefined();
    expect(manifest.gypfile).toBeUndefined();

    const files = run('tar', ['-tzf', tarball], { what: 'list tarball' })
      .stdout.split('\n')
      .filter(Boolean);
    expect(files).toContain('package/prebuilds/linux-x64/@tracer-bpf+loader.glibc.node');
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.cjs');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files.filter((f) => /binding\.gyp$|\.(c|cc|cpp|cxx|h|hpp|gypi)$|(^|\/)(native|build|src)\//.test(f.replace(/^package\//, '')))).toEqual([]);
  });

  it('installs with a PATH on which no compiler, make or python can be found', () => {
    expect(readdirSync(binDir).sort()).toEqual(['node', 'npm']);
    for (const cmd of TOOLCHAIN) expect(which(cmd, env.PATH as string), `${cmd} on the install PATH`).toBeUndefined();
    // The shell agrees (command -v finds none of them).
    const sh = spawnSync('/bin/sh', ['-c', `for c in ${TOOLCHAIN.join(' ')}; do command -v "$c"; done; exit 0`], { env, encoding: 'utf8' });
    expect(sh.stdout.trim()).toBe('');
    expect(which('node', env.PATH as string)).toBe(path.join(binDir, 'node'));
    expect(which('npm', env.PATH as string)).toBe(path.join(binDir, 'npm'));
    for (const k of Object.keys(env)) {
      expect(/^(npm_config_(nodedir|node_gyp|python|build_from_source)|CC|CXX|PYTHON|NODE_OPTIONS|NODE_PATH|TRACER_BPF_NATIVE_PATH)$/i.test(k), k).toBe(false);
    }
  });

  it('installed the prebuilt addon and no sources, and ran no install script', () => {
    const files = listFiles(installed);
    expect(files).toContain('prebuilds/linux-x64/@tracer-bpf+loader.glibc.node');
    expect(files.filter((f) => /binding\.gyp$|\.(c|cc|cpp|cxx|h|hpp|gypi|o|a)$/.test(f))).toEqual([]);
    expect(files.filter((f) => /^(build|native|src)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.node'))).toEqual(['prebuilds/linux-x64/@tracer-bpf+loader.glibc.node']);
    // npm prints "info run <pkg> <event>" and "> <pkg> <event>" for every lifecycle script it runs.
    expect(npmOutput).not.toMatch(/npm info run /);
    expect(npmOutput).not.toMatch(/^> /m);
    expect(npmOutput).not.toMatch(/install-scripts/);
    expect(npmOutput).not.toMatch(/node-gyp rebuild|gyp info|gyp ERR|prebuild-install/);
    expect(npmOutput).toMatch(/added 2 packages/);
    // node-gyp-build and nothing else came with it.
    expect(readdirSync(path.join(appDir, 'node_modules')).filter((f) => !f.startsWith('.')).sort()).toEqual(['@tracer-bpf', 'node-gyp-build']);
  });

  it.each([
    ['ESM', 'use-loader.mjs', 'dist/index.js'],
    ['CommonJS', 'use-loader.cjs', 'dist/index.cjs'],
  ])(
    'from %s: resolves inside the install folder, loads the prebuild, attaches tp_btf and counts real bytes',
    (label, script, entry) => {
      const t = Date.now();
      const r = run('node', [script, objects.loaderTest, appDir, String(UP), String(DOWN)], {
        cwd: appDir,
        env,
        timeout: RUN_TIMEOUT,
        what: `${label} consumer script`,
      });
      timings[label] = Date.now() - t;
      const line = r.stdout.trim().split('\n').at(-1) as string;
      const out = JSON.parse(line) as ScriptResult;

      expect(out.kind).toBe(label === 'ESM' ? 'esm' : 'cjs');
      expect(out.resolved).toBe(path.join(installed, entry));
      expect(path.relative(repoRoot, out.resolved).startsWith('..')).toBe(true);
      expect(out.addons).toEqual([path.join(installed, 'prebuilds/linux-x64/@tracer-bpf+loader.glibc.node')]);
      expect(out.libbpfVersion).toMatch(/^v?1\.\d+/); // libbpf_version_string(): "v1.1"
      expect(out.features).toEqual({ kernelBtf: true, tpBtf: true, batchOps: true });
      expect(out.link).toEqual({ kind: 'tp_btf', target: 'sock_send_length' });
      expect(out.links).toBe(1);
      expect(out.method).toBe('batch');

      // Only count_send is attached: two byte keys (client and server end) with sent bytes, nothing received, no state keys.
      const flows = out.entries.map((e) => ({ ...flow.decodeKey(Buffer.from(e.key, 'hex')), ...flow.decodeValue(Buffer.from(e.value, 'hex')) }));
      const shown = JSON.stringify(out.entries);
      const client = flows.find((f) => f.sport === out.clientPort && f.dport === out.port);
      const server = flows.find((f) => f.sport === out.port && f.dport === out.clientPort);
      expect(flows, shown).toHaveLength(2);
      expect(client, shown).toMatchObject({ family: AF_INET, protocol: 6, kind: FLOW_KIND.bytes, sentBytes: BigInt(UP), recvBytes: 0n });
      expect(server, shown).toMatchObject({ family: AF_INET, protocol: 6, kind: FLOW_KIND.bytes, sentBytes: BigInt(DOWN), recvBytes: 0n });
      // Running it left nothing to build behind.
      expect(listFiles(installed).filter((f) => /^build\//.test(f))).toEqual([]);
    },
    RUN_TIMEOUT,
  );
});
