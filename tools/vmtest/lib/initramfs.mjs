// The guest's initramfs, written directly as an uncompressed newc cpio (the
// kernel unpacks it into its tmpfs root; no compression: decompressing under
// TCG costs more than reading a bigger file). One initramfs serves every kernel
// of a run: busybox, node and the libraries ldd names, the host tools, the
// workspace at its host path, and per kernel (by index) its config and modules.
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, statSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, posix } from 'node:path';
import { REPO, which } from './util.mjs';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** A newc cpio writer that creates parent directories as needed and ignores repeated paths. */
export class Cpio {
  constructor(path) {
    this.fd = openSync(path, 'w');
    this.ino = 1000;
    this.seen = new Set(['.', '']);
    this.bytes = 0;
    this.buf = Buffer.alloc(1 << 20);
  }
  #write(b) {
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    this.bytes += b.length;
  }
  #pad() {
    const n = (4 - (this.bytes % 4)) % 4;
    if (n) this.#write(Buffer.alloc(n));
  }
  #header(name, mode, size, nlink = 1) {
    const hex = (v) => (v >>> 0).toString(16).padStart(8, '0');
    const nameBuf = Buffer.from(name + '\0');
    const fields = [this.ino++, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, nameBuf.length, 0];
    this.#write(Buffer.from('070701' + fields.map(hex).join('')));
    this.#write(nameBuf);
    this.#pad();
  }
  #norm(p) {
    return posix.normalize(p).replace(/^\/+/, '').replace(/\/+$/, '');
  }
  dir(p, mode = 0o755) {
    p = this.#norm(p);
    if (this.seen.has(p)) return;
    this.dir(posix.dirname(p));
    this.seen.add(p);
    this.#header(p, S_IFDIR | mode, 0, 2);
  }
  /** A file from bytes (Buffer/string) or copied from a host path. */
  file(p, { data, from, mode }) {
    p = this.#norm(p);
    if (this.seen.has(p)) return;
    this.dir(posix.dirname(p));
    this.seen.add(p);
    if (data !== undefined) {
      const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
      this.#header(p, S_IFREG | (mode ?? 0o644), b.length);
      this.#write(b);
      this.#pad();
      return;
    }
    const st = statSync(from);
    this.#header(p, S_IFREG | (mode ?? st.mode & 0o7777), st.size);
    const fd = openSync(from, 'r');
    try {
      let left = st.size;
      while (left > 0) {
        const n = readSync(fd, this.buf, 0, Math.min(this.buf.length, left), null);
        if (n <= 0) throw new Error(`${from}: short read`);
        this.#write(n === this.buf.length ? this.buf : this.buf.subarray(0, n));
        left -= n;
      }
    } finally {
      closeSync(fd);
    }
    this.#pad();
  }
  symlink(p, target) {
    p = this.#norm(p);
    if (this.seen.has(p)) return;
    this.dir(posix.dirname(p));
    this.seen.add(p);
    const b = Buffer.from(target);
    this.#header(p, S_IFLNK | 0o777, b.length);
    this.#write(b);
    this.#pad();
  }
  /** A host file at the same path; a symlink is kept as a link and its target added too. */
  hostFile(p) {
    let cur = p;
    for (let i = 0; i < 16; i++) {
      if (!lstatSync(cur).isSymbolicLink()) {
        this.file(cur, { from: cur });
        return;
      }
      const t = readlinkSync(cur);
      this.symlink(cur, t);
      cur = posix.resolve(posix.dirname(cur), t);
    }
    throw new Error(`${p}: too many symlinks`);
  }
  close() {
    this.#header('TRAILER!!!', 0, 0, 1);
    this.#pad();
    closeSync(this.fd);
    return this.bytes;
  }
}

const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
function isElf(p) {
  const fd = openSync(p, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 0);
    return b.equals(ELF);
  } finally {
    closeSync(fd);
  }
}

/** Shared libraries (and the loader) an ELF file needs, by ldd. */
export function lddLibs(file) {
  const r = spawnSync('ldd', [file], { encoding: 'utf8' });
  if (r.status !== 0) return []; // static, or not dynamic
  const libs = [];
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
    else if (/not found/.test(line)) throw new Error(`${file}: ldd says ${line.trim()}`);
  }
  return libs;
}

function globToRegExp(g) {
  let re = '';
  for (let i = 0; i < g.length; i++) {
    if (g.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 2;
    } else if (g[i] === '*') re += '[^/]*';
    else re += g[i].replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Walk the workspace: [{rel, st}] with excluded paths pruned. */
export function workspaceEntries(exclude) {
  const res = exclude.map(globToRegExp);
  const out = [];
  const walk = (rel) => {
    for (const name of readdirSync(join(REPO, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (res.some((x) => x.test(r))) continue;
      const st = lstatSync(join(REPO, r));
      out.push({ rel: r, st });
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

function decompressModule(path) {
  if (path.endsWith('.ko')) return readFileSync(path);
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : path.endsWith('.gz') ? 'gzip' : null;
  if (!tool) throw new Error(`${path}: unknown module compression`);
  const r = spawnSync(tool, ['-dc', path], { maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${tool} -dc ${path}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Modules to load for `wanted` names, dependencies first, from a kernel's
 * modules dir (no modules.dep in Debian packages: depmod runs at install, so
 * read each module's own depends=). Returns [{name, data}] and notes.
 */
export function moduleClosure(modulesDir, wanted) {
  if (!modulesDir) return { mods: [], notes: wanted.length ? ['no modules directory: modules skipped'] : [] };
  const index = new Map();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else {
        const m = /^(.+)\.ko(\.xz|\.zst|\.gz)?$/.exec(e.name);
        if (m) index.set(m[1].replace(/-/g, '_'), join(d, e.name));
      }
    }
  };
  if (existsSync(join(modulesDir, 'kernel'))) walk(join(modulesDir, 'kernel'));
  const builtin = new Set();
  const bf = join(modulesDir, 'modules.builtin');
  if (existsSync(bf)) for (const l of readFileSync(bf, 'utf8').split('\n')) if (l) builtin.add(posix.basename(l).replace(/\.ko$/, '').replace(/-/g, '_'));
  const mods = [];
  const notes = [];
  const done = new Set();
  const visit = (name, chain) => {
    const n = name.replace(/-/g, '_');
    if (done.has(n)) return;
    done.add(n);
    const path = index.get(n);
    if (!path) {
      if (!builtin.has(n)) notes.push(`module ${n} not in this kernel${chain ? ` (needed by ${chain})` : ''}`);
      return;
    }
    const data = decompressModule(path);
    const info = data.toString('latin1');
    const dep = /\0depends=([^\0]*)\0/.exec(info)?.[1] ?? '';
    for (const d of dep.split(',').filter(Boolean)) visit(d, n);
    mods.push({ name: n, data });
  };
  for (const w of wanted) visit(w, null);
  return { mods, notes };
}

/**
 * Write the run's initramfs.
 *   kernels: resolved kernels (index i gets /vmtest/k/i/)
 *   files:   extra files {path: string data} (the init, the summarizer, ...)
 */
export function buildInitramfs(out, { kernels, guest, files }) {
  const t0 = Date.now();
  const cpio = new Cpio(out);
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'root', 'mnt', 'etc', 'bin', 'sbin', 'usr/bin', 'usr/sbin', 'var/tmp']) cpio.dir(d);
  cpio.file('bin/busybox', { from: which('busybox') ?? '/bin/busybox', mode: 0o755 });

  // node (at the path the tests spawn: process.execPath) and the host tools.
  const binaries = [process.execPath];
  const notes = [];
  for (const t of guest.tools) {
    const p = which(t);
    if (!p) notes.push(`tool ${t} not on this host: not in the guest`);
    else binaries.push(p);
  }
  // Native addons in the workspace need their libraries too.
  const entries = workspaceEntries(guest.exclude);
  const elves = entries.filter((e) => e.st.isFile() && e.rel.endsWith('.node')).map((e) => join(REPO, e.rel));
  const libs = new Set();
  for (const b of [...binaries, ...elves]) if (isElf(realpathSync(b))) for (const l of lddLibs(b)) libs.add(l);
  for (const b of binaries) cpio.hostFile(b);
  for (const l of libs) cpio.hostFile(l);
  for (const d of ['/etc/iproute2', '/usr/share/iproute2']) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d, { recursive: true })) if (statSync(join(d, f)).isFile()) cpio.hostFile(join(d, f));
  }
  cpio.file('etc/passwd', { data: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' });
  cpio.file('etc/group', { data: 'root:x:0:\nnogroup:x:65534:\n' });
  cpio.file('etc/hosts', { data: '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' });
  cpio.file('etc/nsswitch.conf', { data: 'passwd: files\ngroup: files\nhosts: files\n' });

  // The workspace at its host path (tests use absolute paths from import.meta.url).
  cpio.dir(REPO);
  for (const e of entries) {
    const p = join(REPO, e.rel);
    if (e.st.isDirectory()) cpio.dir(p, e.st.mode & 0o7777);
    else if (e.st.isSymbolicLink()) cpio.symlink(p, readlinkSync(p));
    else if (e.st.isFile()) cpio.file(p, { from: p });
  }

  // Per kernel: its config (at /boot/config-<release> too, where tests look by default) and modules.
  kernels.forEach((k, i) => {
    cpio.file(`vmtest/k/${i}/config`, { from: k.config, mode: 0o644 });
    cpio.file(`boot/config-${k.release}`, { from: k.config, mode: 0o644 });
    const { mods, notes: n } = moduleClosure(k.modulesDir, guest.modules);
    k.moduleNotes = n;
    for (const m of mods) cpio.file(`vmtest/k/${i}/modules/${m.name}.ko`, { data: m.data });
    cpio.file(`vmtest/k/${i}/modules.order`, { data: mods.map((m) => m.name).join('\n') + '\n' });
  });
  for (const [p, f] of Object.entries(files)) cpio.file(p, typeof f === 'string' ? { data: f, mode: 0o755 } : f);
  const bytes = cpio.close();
  return { bytes, files: entries.length, seconds: (Date.now() - t0) / 1000, notes };
}

