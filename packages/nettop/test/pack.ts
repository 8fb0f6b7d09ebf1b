// For the packed-install test: the workspace packages nettop needs, packed
// with pnpm and read back; an environment with node, npm and npx but no
// compiler; the processes an npx run starts and the native addons they map.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface PackageJson {
  name: string;
  version: string;
  main?: string;
  module?: string;
  types?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export const readPackageJson = (dir: string): PackageJson => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

/**
 * The package in `dir` and every workspace package it depends on, directly or
 * not (`workspace:` specs of `dependencies`, found through the links pnpm makes
 * in each package's node_modules): name -> directory.
 */
export function workspaceClosure(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (d: string) => {
    const pkg = readPackageJson(d);
    if (found.has(pkg.name)) return;
    found.set(pkg.name, d);
    for (const [name, spec] of Object.entries(pkg.dependencies ?? {})) {
      if (spec.startsWith('workspace:')) visit(realpathSync(join(d, 'node_modules', name)));
    }
  };
  visit(realpathSync(dir));
  return found;
}

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Run `argv` to its end, killed after `timeoutMs`. */
export function run(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeoutMs, killSignal: 'SIGKILL' });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}

export interface Packed {
  name: string;
  version: string;
  /** The tarball's absolute path. */
  filename: string;
  /** Paths inside the package (no `package/` prefix). */
  files: string[];
}

/** `pnpm pack` the package in `dir` into `dest` (it rewrites `workspace:` specs to versions). */
export async function pnpmPack(dir: string, dest: string): Promise<Packed> {
  mkdirSync(dest, { recursive: true });
  const r = await run(['pnpm', 'pack', '--pack-destination', dest, '--json'], { cwd: dir, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`pnpm pack in ${dir} failed (${r.code ?? r.signal}): ${r.err}${r.out}`);
  const j = JSON.parse(r.out) as { name: string; version: string; filename: string; files: { path: string }[] };
  return { name: j.name, version: j.version, filename: j.filename, files: j.files.map((f) => f.path) };
}

/** Extract a package tarball into `dir` (without its `package/` folder). */
export function unpack(tarball: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xzf ${tarball}: ${r.error?.message ?? r.stderr}`);
}

/** The files a package.json points at: main, module, types, bin and every path of exports. */
export function entryFiles(pkg: PackageJson): string[] {
  const out = new Set<string>();
  const add = (v: unknown): void => {
    if (typeof v === 'string') out.add(v.replace(/^\.\//, ''));
    else if (v && typeof v === 'object') for (const x of Object.values(v)) add(x);
  };
  add([pkg.main, pkg.module, pkg.types, pkg.bin, pkg.exports].filter((v) => v !== undefined));
  return [...out].sort();
}

/** Relative module specifiers in built JavaScript (ESM imports and CommonJS requires). */
export function relativeImports(code: string): string[] {
  return [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["'](\.\.?\/[^"']+)["']/g)].map((m) => m[1]!);
}

/** Where `cmd` is on this process's PATH. */
function which(cmd: string): string {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path.startsWith('/')) throw new Error(`${cmd} is not on PATH`);
  return path;
}

/**
 * The environment of a machine with node and npm and no compiler: PATH is
 * `binDir` alone, with links to node, npm, npx and sh (npm runs package bins
 * through sh), CC and CXX fail, HOME (npm's cache and config) is `home`.
 * The registry npm uses here and any proxy settings carry over.
 */
export function noCompilerEnv(binDir: string, home: string): NodeJS.ProcessEnv {
  mkdirSync(binDir, { recursive: true });
  mkdirSync(home, { recursive: true });
  symlinkSync(process.execPath, join(binDir, 'node'));
  for (const cmd of ['npm', 'npx', 'sh']) symlinkSync(which(cmd), join(binDir, cmd));
  const registry = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).stdout.trim() || 'https://registry.npmjs.org/';
  const proxies = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(https?_proxy|no_proxy|npm_config_(https?-?)?proxy)$/i.test(k)));
  return {
    ...proxies,
    PATH: binDir,
    HOME: home,
    CC: '/bin/false',
    CXX: '/bin/false',
    npm_config_build_from_source: 'false',
    npm_config_registry: registry,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    NO_COLOR: '1',
  };
}

/** The processes below `pid` (children, their children...). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
  }
  const out: number[] = [];
  for (let todo = [pid]; todo.length; ) {
    const next = todo.flatMap((p) => children.get(p) ?? []);
    out.push(...next);
    todo = next;
  }
  return out;
}

/** The native addons (*.node files) mapped by these processes. */
export function mappedAddons(pids: number[]): string[] {
  const out = new Set<string>();
  for (const pid of pids) {
    let maps: string;
    try {
      maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch {
      continue;
    }
    for (const m of maps.matchAll(/\s(\/.*\.node)$/gm)) out.add(m[1]!);
  }
  return [...out].sort();
}

/** Files below `dir` whose path (relative to `dir`) matches `re`. */
export function findFiles(dir: string, re: RegExp): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .filter((p) => re.test(p))
    .sort();
}
