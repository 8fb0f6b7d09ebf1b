// Process names for pids: read from /proc, cached, and kept after the process is gone.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ProcessNames } from '../src/process-names.js';

it('names a live process, keeps the name after it exits, and has none for pid 0', async () => {
  const names = new ProcessNames(0); // no caching by time: every call reads /proc
  expect(names.get(process.pid, 0)).toBe(readFileSync('/proc/self/comm', 'utf8').replace(/\n$/, ''));
  expect(names.get(0, 0)).toBeUndefined();
  const child = spawn('sleep', ['30']);
  const pid = child.pid!;
  await new Promise((r) => setTimeout(r, 100));
  expect(names.get(pid, 1)).toBe('sleep');
  child.kill();
  await new Promise((r) => child.on('exit', r));
  await new Promise((r) => setTimeout(r, 50)); // reaped
  expect(names.get(pid, 2)).toBe('sleep');
  expect(new ProcessNames().get(pid, 3)).toBeUndefined(); // never seen alive
});
