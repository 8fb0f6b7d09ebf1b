// Kernels: resolve a list entry, a Debian package name or a vmlinuz path to
// something bootable (vmlinuz + config + modules dir), downloading and caching
// Debian packages under .cache/vmtest with private apt lists (the system's apt
// state is never touched; the mirror is read from the system apt sources).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CACHE, REPO, log, run } from './util.mjs';

const APT = join(CACHE, 'apt');
const DEBS = join(CACHE, 'debs');
const KERNELS = join(CACHE, 'kernels');
const LISTS_MAX_AGE_H = 6;

/** The Debian mirror the system already uses (tools/native/lib.sh `mirror`). */
export function mirror() {
  const r = spawnSync('bash', ['-c', 'source "$1" && mirror', 'bash', join(REPO, 'tools/native/lib.sh')], { encoding: 'utf8' });
  const uri = r.stdout.trim();
  if (r.status !== 0 || !uri) throw new Error(`no Debian mirror in the system apt sources: ${r.stderr.trim()}`);
  return uri;
}

function aptOpts() {
  return [
    '-o', `Dir::Etc::SourceList=${join(APT, 'sources.list')}`,
    '-o', 'Dir::Etc::SourceParts=/dev/null',
    '-o', `Dir::State::Lists=${join(APT, 'lists')}`,
    '-o', `Dir::Cache=${join(APT, 'cache')}`,
    // Keep apt's binary caches (apt-cache calls: 0.9 s each without, 0.02 s with).
    '-o', `Dir::Cache::pkgcache=${join(APT, 'cache/pkgcache.bin')}`,
    '-o', `Dir::Cache::srcpkgcache=${join(APT, 'cache/srcpkgcache.bin')}`,
    '-o', 'Dir::State::status=/dev/null',
    '-o', 'APT::Sandbox::User=root',
    '-o', 'Acquire::Languages=none',
  ];
}

/** apt-get / apt-cache on the private lists, serialised between concurrent runners by flock. */
function apt(tool, args, what, cwd) {
  mkdirSync(APT, { recursive: true });
  return run('flock', [join(APT, '.lock'), tool, ...aptOpts(), ...args], { what, cwd });
}

/**
 * Write the private sources list for `suites` and run `apt-get update` when the
 * lists are missing, older than LISTS_MAX_AGE_H hours, for other suites, or `refresh`.
 */
export function aptUpdate(suites, { refresh = false } = {}) {
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  const opt = existsSync(keyring) ? `signed-by=${keyring}` : 'trusted=yes';
  const uri = mirror();
  const want = [...new Set(suites)].sort().map((s) => `deb [${opt}] ${uri} ${s} main`).join('\n') + '\n';
  mkdirSync(join(APT, 'lists', 'partial'), { recursive: true });
  mkdirSync(join(APT, 'cache'), { recursive: true });
  const listFile = join(APT, 'sources.list');
  const stamp = join(APT, 'updated');
  const same = existsSync(listFile) && readFileSync(listFile, 'utf8') === want;
  const fresh = existsSync(stamp) && Date.now() - statSync(stamp).mtimeMs < LISTS_MAX_AGE_H * 3600e3;
  if (same && fresh && !refresh) return false;
  writeFileSync(listFile, want);
  log(`apt-get update (${[...new Set(suites)].join(', ')}) into .cache/vmtest/apt`);
  try {
    apt('apt-get', ['-q', 'update'], 'apt-get update');
  } catch (e) {
    if (same && existsSync(stamp)) {
      log(`WARNING: ${e.message.split('\n')[0]}; using the lists from ${new Date(statSync(stamp).mtimeMs).toISOString()}`);
      return false;
    }
    throw e;
  }
  writeFileSync(stamp, new Date().toISOString() + '\n');
  return true;
}

// Debian version comparison (dpkg's verrevcmp), for picking the newest package.
const isDigit = (c) => c !== undefined && c >= '0' && c <= '9';
function order(c) {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (isDigit(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}
function verrevcmp(a, b) {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const d = order(a[i]) - order(b[j]);
      if (d) return d;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}
export function compareDebVersions(a, b) {
  const split = (v) => {
    const m = /^(?:(\d+):)?(.*?)(?:-([^-]*))?$/.exec(v);
    return { epoch: Number(m[1] ?? 0), up: m[2], rev: m[3] ?? '' };
  };
  const x = split(a);
  const y = split(b);
  return x.epoch - y.epoch || verrevcmp(x.up, y.up) || verrevcmp(x.rev, y.rev);
}

/** [{pkg, version, suite}] for the given package names, from apt-cache madison. */
function madison(names) {
  if (names.length === 0) return [];
  const out = apt('apt-cache', ['madison', ...names], 'apt-cache madison').stdout;
  const rows = [];
  for (const line of out.split('\n')) {
    const f = line.split('|').map((s) => s.trim());
    if (f.length < 3 || !f[2].endsWith('Packages')) continue;
    const suite = f[2].split(/\s+/)[1]?.split('/')[0];
    rows.push({ pkg: f[0], version: f[1], suite });
  }
  return rows;
}

function newest(rows) {
  // Newest version first; for the same version prefer the signed image (shorter name).
  return [...rows].sort((a, b) => compareDebVersions(b.version, a.version) || a.pkg.length - b.pkg.length || a.pkg.localeCompare(b.pkg))[0];
}

/** The newest package in `suite` whose name matches the ERE `pattern`. */
export function resolveSeries(pattern, suite) {
  const names = apt('apt-cache', ['search', '--names-only', pattern], 'apt-cache search')
    .stdout.split('\n')
    .map((l) => l.split(' - ')[0].trim())
    .filter((n) => n && new RegExp(pattern).test(n));
  const rows = madison(names).filter((r) => r.suite === suite);
  if (rows.length === 0) throw new Error(`no package matching ${pattern} in ${suite} (apt lists under .cache/vmtest/apt)`);
  return newest(rows);
}

/** A package given by name (any flavour); a metapackage is followed to the image it depends on. */
export function resolvePackage(name, suites, depth = 0) {
  const rows = madison([name]).filter((r) => !suites || suites.includes(r.suite));
  if (rows.length === 0) throw new Error(`package ${name} is not in ${suites ? suites.join(', ') : 'the apt lists'} (add --debian-suite SUITE?)`);
  const best = newest(rows);
  if (!/^linux-image-\d/.test(name) && depth < 3) {
    const show = apt('apt-cache', ['show', `${name}=${best.version}`], 'apt-cache show').stdout;
    const dep = /^Depends:.*?\b(linux-image-[^\s,(|]+)/m.exec(show)?.[1];
    if (dep && dep !== name) return resolvePackage(dep, [best.suite], depth + 1);
  }
  return best;
}

/** Download and unpack a resolved package (cached by name and version). Returns its directory. */
export function fetchPackage({ pkg, version }) {
  const dir = join(KERNELS, `${pkg}_${version.replace(/:/g, '%3a')}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  mkdirSync(DEBS, { recursive: true });
  log(`downloading ${pkg} ${version}`);
  apt('apt-get', ['-q', 'download', `${pkg}=${version}`], `apt-get download ${pkg}`, DEBS);
  const prefix = `${pkg}_${version.replace(/:/g, '%3a')}_`;
  const deb = readdirSync(DEBS).find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg}=${version} left no .deb in ${DEBS}`);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  run('dpkg-deb', ['-x', join(DEBS, deb), tmp], { what: `dpkg-deb -x ${deb}` });
  writeFileSync(join(tmp, '.complete'), `${pkg} ${version}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  rmSync(join(DEBS, deb), { force: true });
  return dir;
}

/** The release string inside a bzImage (the setup header's kernel_version). */
export function bzImageRelease(path) {
  const fd = openSync(path, 'r');
  try {
    const hdr = Buffer.alloc(0x300);
    readSync(fd, hdr, 0, hdr.length, 0);
    if (hdr.toString('latin1', 0x202, 0x206) !== 'HdrS') return null;
    const off = hdr.readUInt16LE(0x20e) + 0x200;
    const s = Buffer.alloc(256);
    readSync(fd, s, 0, s.length, off);
    return s.toString('latin1').split(/[\s\0]/)[0] || null;
  } finally {
    closeSync(fd);
  }
}

/** vmlinuz, config and modules directory of an unpacked Debian kernel package. */
function fromPackageDir(dir) {
  const boot = join(dir, 'boot');
  const vmlinuz = existsSync(boot) && readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`${dir}: no boot/vmlinuz-* (not a kernel image package?)`);
  const release = vmlinuz.slice('vmlinuz-'.length);
  const config = join(boot, `config-${release}`);
  const modules = join(dir, 'lib/modules', release);
  return { vmlinuz: join(boot, vmlinuz), release, config: existsSync(config) ? config : null, modulesDir: existsSync(modules) ? modules : null };
}

/** A kernel from a vmlinuz path: config next to it (config-<release>) or given; modules if found. */
function fromPath(path, configArg) {
  const vmlinuz = resolve(path);
  const release = bzImageRelease(vmlinuz) ?? basename(vmlinuz).replace(/^vmlinuz-/, '');
  const dir = dirname(vmlinuz);
  const configs = [configArg && resolve(configArg), join(dir, `config-${release}`), join(dir, '../boot', `config-${release}`), join(dir, 'config'), join(dir, '.config'), `/boot/config-${release}`];
  const config = configs.find((c) => c && existsSync(c));
  if (!config) throw new Error(`no config for ${vmlinuz} (tried ${configs.filter(Boolean).join(', ')}): pass --config`);
  const mods = [join(dir, '../lib/modules', release), join(dir, 'lib/modules', release), `/lib/modules/${release}`].find((m) => existsSync(m));
  return { vmlinuz, release, config, modulesDir: mods ?? null };
}

/** What a kernels.json entry sets for its own row: vCPUs, extra kernel command line, the suites it runs. */
function rowSettings(entry) {
  const out = {};
  if (entry.cpus !== undefined) out.cpus = entry.cpus;
  if (entry.append !== undefined) {
    if (typeof entry.append !== 'string') throw new Error(`kernels.json ${entry.name}: append must be a string`);
    out.append = entry.append;
  }
  if (entry.suites !== undefined) {
    if (!Array.isArray(entry.suites) || !entry.suites.length || entry.suites.some((x) => typeof x !== 'string')) throw new Error(`kernels.json ${entry.name}: suites must be a non-empty array of package directories`);
    out.suites = entry.suites;
  }
  return out;
}

/**
 * Turn the kernel arguments into bootable kernels.
 *   specs: [] (whole list) or names / package names / paths.
 */
export function resolveKernels(list, specs, { config, debianSuites = [], refresh = false } = {}) {
  const listSuites = list.kernels.map((k) => k.suite);
  const wanted = specs.length ? specs : list.kernels.map((k) => k.name);
  const plan = wanted.map((spec) => {
    const entry = list.kernels.find((k) => k.name === spec);
    if (entry) return { kind: 'list', spec, entry };
    if (spec.includes('/') || existsSync(spec)) return { kind: 'path', spec };
    if (/^linux-image-/.test(spec)) return { kind: 'package', spec };
    throw new Error(`unknown kernel "${spec}": not a name in tools/vmtest/kernels.json (${list.kernels.map((k) => k.name).join(', ')}), not linux-image-*, not a file`);
  });
  if (plan.some((p) => p.kind !== 'path')) aptUpdate([...listSuites, ...debianSuites], { refresh });
  return plan.map((p) => {
    if (p.kind === 'path') {
      if (!existsSync(p.spec)) throw new Error(`${p.spec}: no such file`);
      const k = fromPath(p.spec, config);
      return { name: basename(p.spec), source: p.spec, listed: false, ...k };
    }
    const res = p.kind === 'list' ? resolveSeries(p.entry.package, p.entry.suite) : resolvePackage(p.spec, debianSuites.length ? [...listSuites, ...debianSuites] : null);
    const dir = fetchPackage(res);
    const k = fromPackageDir(dir);
    if (!k.config) throw new Error(`${res.pkg}: no boot/config-${k.release} in the package`);
    return { name: p.kind === 'list' ? p.entry.name : p.spec, source: `${res.pkg} ${res.version} (${res.suite})`, listed: p.kind === 'list', package: res, ...(p.kind === 'list' ? rowSettings(p.entry) : {}), ...k };
  });
}
