// The C clients of the tests (test/c/*.c), built by the package build into
// test/c/bin/ on the host (the QEMU guests have no compiler). A missing one
// fails the test that needs it: it never skips.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function cProgram(name: string): string {
  const path = fileURLToPath(new URL(`./c/bin/${name}`, import.meta.url));
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: build the tracer package first (pnpm --filter @tracer-bpf/tracer build runs make -C test/c)`);
  }
  return path;
}
