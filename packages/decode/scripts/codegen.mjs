#!/usr/bin/env node
// @ts-check
// Regenerates src/layout.gen.ts from the BTF of @tracer-bpf/bpf's
// obj/tracer_abi.bpf.o (build it first: pnpm --filter @tracer-bpf/bpf build).
//
//   node scripts/codegen.mjs            write src/layout.gen.ts
//   node scripts/codegen.mjs --check    exit 1 if src/layout.gen.ts is not what the object gives
//   node scripts/codegen.mjs --stdout   print instead of writing
//   node scripts/codegen.mjs --elf <object.bpf.o>   read another object (tests)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadElfBtf } from '@tracer-bpf/btf';
import { buildLayout, renderLayout } from './layout-source.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, '..', 'src', 'layout.gen.ts');
const require = createRequire(import.meta.url);
const DEFAULT_ELF = join(dirname(require.resolve('@tracer-bpf/bpf/package.json')), 'obj', 'tracer_abi.bpf.o');

let elf = DEFAULT_ELF;
let mode = 'write';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--check' || a === '--stdout') mode = a.slice(2);
  else if (a === '--elf' && argv[i + 1]) elf = /** @type {string} */ (argv[++i]);
  else {
    console.error(`codegen: unknown argument ${a}`);
    process.exit(2);
  }
}
if (!existsSync(elf)) {
  console.error(`codegen: ${elf} is missing: build it first (pnpm --filter @tracer-bpf/bpf build)`);
  process.exit(2);
}

let text;
try {
  text = renderLayout(buildLayout(loadElfBtf(elf)), {
    object: 'bpf/obj/tracer_abi.bpf.o',
    header: 'bpf/include/tracer_bpf/abi.h',
  });
} catch (err) {
  console.error(`codegen: ${elf}: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}

if (mode === 'stdout') {
  process.stdout.write(text);
} else if (mode === 'check') {
  const current = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
  if (current !== text) {
    console.error('codegen: src/layout.gen.ts is stale: run `pnpm --filter @tracer-bpf/decode codegen`');
    process.exit(1);
  }
} else if (!existsSync(OUT) || readFileSync(OUT, 'utf8') !== text) {
  writeFileSync(OUT, text);
  console.log('codegen: wrote src/layout.gen.ts');
} else {
  console.log('codegen: src/layout.gen.ts is up to date');
}
