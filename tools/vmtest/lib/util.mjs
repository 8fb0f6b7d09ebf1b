import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VMTEST = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = resolve(VMTEST, '../..');
export const CACHE = join(REPO, '.cache/vmtest');

export function log(msg) {
  process.stderr.write(`[vmtest] ${msg}\n`);
}

/** spawnSync that throws with the command's stderr tail when it fails. */
export function run(cmd, args, { what = cmd, cwd, input, env, timeout, maxBuffer = 256 << 20 } = {}) {
  const r = spawnSync(cmd, args, { cwd, input, env, timeout, encoding: 'utf8', maxBuffer });
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) {
    const tail = (r.stderr || r.stdout || '').trim().split('\n').slice(-15).join('\n');
    throw new Error(`${what} failed (exit ${r.status ?? r.signal}):\n${tail}`);
  }
  return r;
}

export function which(cmd) {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/local/sbin', '/usr/sbin', '/sbin']);
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}
