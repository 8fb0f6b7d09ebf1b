// The command: parse, run, and turn any failure into one line and an exit code.
import { parseCli, USAGE } from './args.js';
import { canTrace, renderChecks, runDoctor } from './doctor.js';
import { classifyError, EXIT, type ExitCode } from './exit-codes.js';
import { type Io, say } from './io.js';
import { loadOffsets } from './offsets.js';
import { runTop } from './top.js';

/** Run nettop with `argv` (no node, no script name); resolves to the exit code. `signal` ends a run (the CLI aborts it on SIGINT/SIGTERM). */
export async function main(argv: readonly string[], io: Io, signal: AbortSignal): Promise<ExitCode> {
  try {
    const opts = parseCli(argv);
    if (opts.command === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return EXIT.OK;
    }
    if (opts.command === 'doctor') {
      const { checks, offsets } = await runDoctor({ backend: opts.backend, offsets: loadOffsets(opts.offsets) });
      io.stdout.write(renderChecks(checks));
      if (opts.verbose && offsets) io.stdout.write(`\n${offsets}\n`);
      return canTrace(checks) ? EXIT.OK : EXIT.CANNOT_TRACE;
    }
    await runTop(opts, io, signal);
    return EXIT.OK;
  } catch (e) {
    const { code, message } = classifyError(e);
    say(io, message);
    if (code === EXIT.USAGE) io.stderr.write('(nettop --help for usage)\n');
    return code;
  }
}
