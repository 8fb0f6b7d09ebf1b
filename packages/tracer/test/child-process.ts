// The tests' node child processes (test/children/*.mjs, or `-e` scripts): one
// line of JSON on stdout per milestone, awaited in order; lines to stdin.
import { type ChildProcess, spawn } from 'node:child_process';

export interface Child {
  child: ChildProcess;
  /** The next line the child prints, parsed (at most 30 s; rejects if it exits first). */
  next(): Promise<Record<string, unknown>>;
  /** One line to its stdin. */
  send(line: string): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Lines of JSON the child prints, awaited one by one. */
export function run(argv: string[]): Child {
  const child = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      lines.push(out.slice(0, nl));
      out = out.slice(nl + 1);
    }
    wake?.();
  });
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let over = false;
  void exited.then(() => {
    over = true;
    wake?.();
  });
  return {
    child,
    send: (line) => child.stdin!.write(`${line}\n`),
    stderr: () => err,
    exited,
    async next() {
      const deadline = Date.now() + 30_000;
      while (lines.length === 0) {
        if (over) throw new Error(`the child exited: ${err}`);
        if (Date.now() > deadline) throw new Error(`no line from the child in 30 s: ${err}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
      return JSON.parse(lines.shift()!) as Record<string, unknown>;
    },
  };
}
