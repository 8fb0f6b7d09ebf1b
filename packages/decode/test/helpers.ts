import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Gitignored scratch dir for compiled test programs and objects (not build/: turbo caches build/** as a build output). */
export const BUILD = join(PKG, '.cache', 'test');
export const BPF = dirname(require.resolve('@tracer-bpf/bpf/package.json'));
export const INCLUDE = join(BPF, 'include');
export const ABI_H = join(INCLUDE, 'tracer_bpf', 'abi.h');
export const ABI_OBJECT = join(BPF, 'obj', 'tracer_abi.bpf.o');
export const ABI_SOURCE = join(BPF, 'src', 'tracer_abi.bpf.c');
export const CODEGEN = join(PKG, 'scripts', 'codegen.mjs');
export const LAYOUT_GEN = join(PKG, 'src', 'layout.gen.ts');

export function buildDir(...parts: string[]): string {
  const d = join(BUILD, ...parts);
  mkdirSync(d, { recursive: true });
  return d;
}

/** Compile a host C program against the ABI header (gcc, warnings are errors). */
export function compileHost(source: string, out: string): string {
  execFileSync('gcc', ['-std=c11', '-O1', '-Wall', '-Wextra', '-Werror', `-I${INCLUDE}`, '-o', out, source], { stdio: ['ignore', 'pipe', 'pipe'] });
  return out;
}

/** The bpf package's clang command (bpf/Makefile) for one source. */
export function compileBpf(source: string, out: string, includes: string[] = []): void {
  const arch = `/usr/include/${execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim()}-linux-gnu`;
  execFileSync('clang', ['-O2', '-g', '-Wall', '-Werror', '-target', 'bpf', '-D__TARGET_ARCH_x86', `-I${arch}`, ...includes.map((i) => `-I${i}`), '-c', source, '-o', out], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Run scripts/codegen.mjs; returns its exit status and output. */
export function codegen(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CODEGEN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A JSON-comparable copy: bigints as decimal strings. */
export function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}
