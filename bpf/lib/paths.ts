import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of a compiled object under this package's obj/ folder. */
export function objectPath(name: string): string {
  return fileURLToPath(new URL(`../obj/${name}.bpf.o`, import.meta.url));
}

/** The path, or a clear error when the package was not built. */
export function existingObject(path: string): string {
  if (!existsSync(path)) {
    throw new Error(`@tracer-bpf/bpf: ${path} is missing: build the package first (pnpm --filter @tracer-bpf/bpf build)`);
  }
  return path;
}
