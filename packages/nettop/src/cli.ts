#!/usr/bin/env node
// The `nettop` command: main() with the process's streams, and the signal
// handlers (the tracer library installs none): SIGINT/SIGTERM close the
// tracer, leaving nothing attached, and exit 0.
import { main } from './main.js';

const stop = new AbortController();
const onSignal = (): void => stop.abort();
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
// A closed pipe (nettop --json | head -1) ends the run like a signal.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') stop.abort();
});

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }, stop.signal).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`nettop: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
