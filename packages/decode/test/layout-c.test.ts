// Every offset and size in the generated table against the C compiler:
// a program generated from the table prints offsetof/sizeof of every field
// of every struct, and the value of every enum constant.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abi, type StructLayout } from '../src/index.js';
import { buildDir, compileHost } from './helpers.js';

describe('layout table vs gcc', () => {
  it('has the offsetof/sizeof gcc computes for every field of every struct, and every enum value', () => {
    const structs = abi.structs as unknown as Record<string, StructLayout>;
    const lines: string[] = [];
    const expected: string[] = [];
    for (const [name, s] of Object.entries(structs)) {
      lines.push(`\tprintf("${name} %zu\\n", sizeof(struct ${name}));`);
      expected.push(`${name} ${s.size}`);
      for (const [field, f] of Object.entries(s.fields)) {
        lines.push(`\tprintf("${name}.${field} %zu %zu\\n", offsetof(struct ${name}, ${field}), sizeof(((struct ${name} *)0)->${field}));`);
        expected.push(`${name}.${field} ${f.offset} ${f.size}`);
      }
    }
    for (const [name, values] of Object.entries(abi.enums as Record<string, Record<string, number | bigint>>)) {
      for (const [k, v] of Object.entries(values)) {
        lines.push(`\tprintf("enum ${name}.${k} %lld\\n", (long long)${k});`);
        expected.push(`enum ${name}.${k} ${v}`);
      }
    }
    expect(lines.length).toBeGreaterThan(60);
    const dir = buildDir('layout-c');
    const src = join(dir, 'offsets.c');
    writeFileSync(src, ['#include <stddef.h>', '#include <stdio.h>', '#include "tracer_bpf/abi.h"', 'int main(void)', '{', ...lines, '\treturn 0;', '}', ''].join('\n'));
    const bin = compileHost(src, join(dir, 'offsets'));
    const got = execFileSync(bin, { encoding: 'utf8' }).trim().split('\n');
    expect(got).toEqual(expected);
  });
});
