import type { Options } from 'tsup';

/** The one tsup setup of every package: ESM + CJS + .d.ts from src/index.ts (or `entry`). */
export function libraryConfig(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    // import.meta.url in the CJS build (package-relative paths).
    shims: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    ...overrides,
  };
}
