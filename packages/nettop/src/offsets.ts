// --offsets: 'auto', 'btf', 'guess' or a JSON file of SockOffsets (e.g. guessed on another run).
import { readFileSync } from 'node:fs';
import type { TracerOptions } from '@tracer-bpf/tracer';
import { UsageError } from './exit-codes.js';

export function loadOffsets(arg: string, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): NonNullable<TracerOptions['offsets']> {
  if (arg === 'auto' || arg === 'btf' || arg === 'guess') return arg;
  let text: string;
  try {
    text = read(arg);
  } catch (e) {
    throw new UsageError(`--offsets: cannot read ${arg}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--offsets: ${arg} is not JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`--offsets: ${arg} must hold a JSON object of SockOffsets`);
  return value as Exclude<NonNullable<TracerOptions['offsets']>, string>;
}
