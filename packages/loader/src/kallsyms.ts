// Resolves a kernel function name for a kprobe through /proc/kallsyms. When
// the compiler left only a clone (`tcp_get_info.part.0`, `.isra.N`,
// `.constprop.N`), the clone is used only if the caller allows it: clones may
// drop or reorder arguments, so reading them as the original is wrong.
import * as fs from 'node:fs';
import { readProcText } from './proc-text.js';
import { BpfError } from './errors.js';

export type CloneKind = 'isra' | 'part' | 'constprop';

export interface ResolveOptions {
  /**
   * Accept a compiler clone when the function has no symbol of its own:
   * `true` for any kind, or the kinds (or exact clone names) to accept.
   */
  allowClone?: boolean | Array<CloneKind | string>;
}

export interface ResolvedFunction {
  /** The symbol to attach to. */
  symbol: string;
  /** Set when `symbol` is a clone of the requested function. */
  clone?: CloneKind;
}

const CLONE = /^(.+?)\.(isra|part|constprop)\.\d+(?:\.(?:isra|part|constprop)\.\d+)*$/;

let cache: Map<string, string[]> | undefined;

/** name -> [exact or clone symbols], text (t/T) symbols only. */
function table(path: string): Map<string, string[]> {
  if (cache && path === '/proc/kallsyms') return cache;
  const text = readProcText(fs, path);
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    // "ffffffff81000000 T name\t[module]"
    const s1 = line.indexOf(' ');
    const type = line.charCodeAt(s1 + 1);
    if (s1 < 0 || (type !== 0x74 /* t */ && type !== 0x54) /* T */) continue;
    const tab = line.indexOf('\t', s1 + 3);
    const sym = tab < 0 ? line.slice(s1 + 3) : line.slice(s1 + 3, tab);
    const base = CLONE.exec(sym)?.[1] ?? sym;
    const list = map.get(base);
    if (!list) map.set(base, [sym]);
    else if (!list.includes(sym)) list.push(sym);
  }
  if (path === '/proc/kallsyms') cache = map;
  return map;
}

export function resolveKernelFunction(
  name: string,
  opts: ResolveOptions = {},
  kallsyms = '/proc/kallsyms',
): ResolvedFunction {
  const op = 'resolve kprobe target';
  // The caller named a clone explicitly: take it as it is if it exists.
  const candidates = table(kallsyms).get(CLONE.exec(name)?.[1] ?? name) ?? [];
  if (candidates.includes(name)) {
    const kind = CLONE.exec(name)?.[2] as CloneKind | undefined;
    return kind ? { symbol: name, clone: kind } : { symbol: name };
  }
  const clones = candidates.filter((s) => s !== name);
  if (clones.length === 0) {
    throw new BpfError({
      code: 'ENOENT',
      errno: 2,
      op,
      target: name,
      hint: `no kernel function named ${name} in ${kallsyms}`,
    });
  }
  const allow = opts.allowClone;
  const allowed = clones.filter((s) => {
    if (allow === true) return true;
    if (!Array.isArray(allow)) return false;
    const kind = CLONE.exec(s)?.[2] ?? '';
    return allow.includes(s) || allow.includes(kind);
  });
  if (allowed.length === 0) {
    throw new BpfError({
      code: 'ENOENT',
      errno: 2,
      op,
      target: name,
      hint:
        `${name} exists only as a compiler clone (${clones.join(', ')}), whose arguments may differ: ` +
        'pass allowClone to attach to it anyway',
    });
  }
  if (allowed.length > 1) {
    throw new BpfError({
      code: 'ERR_BPF_AMBIGUOUS',
      op,
      target: name,
      message: `${name} matches several clones (${allowed.join(', ')}): name the one to attach to`,
    });
  }
  const symbol = allowed[0] as string;
  return { symbol, clone: CLONE.exec(symbol)?.[2] as CloneKind };
}

/** For tests: forget the cached /proc/kallsyms table. */
export function resetKallsymsCache(): void {
  cache = undefined;
}
