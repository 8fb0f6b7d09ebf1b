// The README's API section documents every export (values and types).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { PKG } from './helpers.js';

describe('README', () => {
  it('names every export of src/index.ts', () => {
    const readme = readFileSync(join(PKG, 'README.md'), 'utf8');
    const index = readFileSync(join(PKG, 'src', 'index.ts'), 'utf8');
    const types = [...index.matchAll(/\btype\s+(\w+)/g), ...[...index.matchAll(/export type \{([^}]+)\}/g)].flatMap((m) => [...(m[1] as string).matchAll(/(\w+)/g)])].map(
      (m) => m[1] as string,
    );
    const names = new Set([...Object.keys(api), ...types]);
    expect(names.size).toBeGreaterThan(60);
    const missing = [...names].filter((n) => !new RegExp('`' + n + '[`(. ]').test(readme));
    expect(missing).toEqual([]);
  });
});
