// Process names for pids, read from /proc/<pid>/comm and cached: a pid's name
// is re-read after `ttlMs` (pids are reused), and a process that has exited
// keeps the last name seen (its close records come after it is gone).
import { readFileSync } from 'node:fs';

export class ProcessNames {
  readonly #cache = new Map<number, { name: string | undefined; at: number }>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs = 10_000, max = 65_536) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  /** The name of `pid` (as `ps -o comm` shows it), or undefined for pid 0 and unknown processes. */
  get(pid: number, nowMs: number): string | undefined {
    if (pid <= 0) return undefined;
    const e = this.#cache.get(pid);
    if (e && nowMs - e.at < this.#ttlMs) return e.name;
    let name = e?.name;
    try {
      name = readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
    } catch {
      // gone (or not visible from here): keep what was seen
    }
    if (!e && this.#cache.size >= this.#max) this.#cache.clear();
    this.#cache.set(pid, { name, at: nowMs });
    return name;
  }
}
