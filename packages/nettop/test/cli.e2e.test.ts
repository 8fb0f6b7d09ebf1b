// The built CLI as users run it: signals leave nothing attached, exit codes,
// one-line errors, doctor, colour only on a terminal.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { bpfIdsOf, bpftoolIds, CLI, have, listen, NOT_ROOT, nettop } from './e2e.js';

const NO_SETPRIV = have('setpriv') ? undefined : 'setpriv (util-linux) is not installed';
const NO_CAPS = ['--inh-caps=-all', '--bounding-set=-all'];
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...NO_CAPS];

/**
 * An unprivileged user for the CLI: uid 65534 where it can read this
 * checkout, else (a checkout in a 0700 directory, as CI's fresh clone in a
 * mktemp dir) uid 0 with every capability dropped, which BPF refuses alike.
 */
function unprivileged(): { wrap: string[]; uid: number } {
  if (NO_SETPRIV || NOT_ROOT) return { wrap: NOBODY, uid: 65534 };
  try {
    execFileSync(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(CLI)}, require('fs').constants.R_OK)`], { stdio: 'ignore' });
    return { wrap: NOBODY, uid: 65534 };
  } catch {
    return { wrap: ['setpriv', ...NO_CAPS], uid: 0 };
  }
}
const WEAK = unprivileged();
const NO_BPFTOOL = have('bpftool') ? undefined : 'bpftool is not installed';
const NO_SCRIPT = have('script') ? undefined : 'script (util-linux) is not installed: no pseudo-terminal';

describe.concurrent('usage', () => {
  it('--help prints the usage and exits 0', async () => {
    const n = nettop(['--help']);
    expect(await n.exited).toEqual({ code: 0, signal: null });
    expect(n.stdout()).toMatch(/^usage: nettop \[options\]/);
    expect(n.stdout()).toContain('exit codes: 0 ok');
  });

  it.each([[['--interval', '0']], [['--proto', 'icmp']], [['--nope']], [['doctr']]])('%j: exit 2, one line on stderr', async (args) => {
    const n = nettop(args);
    expect(await n.exited).toEqual({ code: 2, signal: null });
    expect(n.stderr()).toMatch(/^nettop: [^\n]+\n\(nettop --help for usage\)\n$/);
    expect(n.stdout()).toBe('');
  });

  it('--offsets of a missing file: exit 2', async () => {
    const n = nettop(['--once', '--offsets', '/nonexistent/offsets.json']);
    expect(await n.exited).toEqual({ code: 2, signal: null });
    expect(n.stderr()).toMatch(/^nettop: --offsets: cannot read \/nonexistent\/offsets.json: ENOENT\n/);
  });
});

describe.skipIf(NOT_ROOT || NO_SETPRIV)(`without privilege${NOT_ROOT || NO_SETPRIV ? ` (skipped: ${NOT_ROOT ?? NO_SETPRIV})` : ''}`, { concurrent: true }, () => {
  it('exits 3 and names the missing privilege in one line', async () => {
    const n = nettop(['--once', '--interval', '1'], { wrap: WEAK.wrap });
    expect(await n.exited).toEqual({ code: 3, signal: null });
    expect(n.stderr()).toBe(`nettop: tracing needs root or CAP_BPF+CAP_PERFMON (uid ${WEAK.uid} lacks CAP_BPF+CAP_PERFMON)\n`);
  });

  it('doctor says FAIL privilege and exits 3', async () => {
    const n = nettop(['doctor'], { wrap: WEAK.wrap });
    expect(await n.exited).toEqual({ code: 3, signal: null });
    expect(n.stdout()).toMatch(new RegExp(`^FAIL +privilege +uid ${WEAK.uid} has no BPF capability: tracing needs root or CAP_BPF\\+CAP_PERFMON$`, 'm'));
    expect(n.stdout()).toMatch(/^FAIL +start /m);
  });
});

describe.skipIf(NOT_ROOT)('as root', () => {
  it('doctor: one line a check, what a start would use, exit 0', async () => {
    const n = nettop(['doctor']);
    expect(await n.exited, n.stderr()).toEqual({ code: 0, signal: null });
    const lines = n.stdout().trim().split('\n');
    for (const l of lines) expect(l).toMatch(/^(ok|warn|FAIL) +\S/);
    expect(lines.map((l) => l.split(/\s{2,}/)[1])).toEqual(
      expect.arrayContaining(['privilege', 'lockdown', 'kernel BTF', 'tracefs', 'memlock', 'kprobes', 'fentry', 'tp_btf', 'offsets', 'start']),
    );
    // This host has BTF: the offsets come from it and a real guess verifies them.
    expect(n.stdout()).toMatch(/^ok +offsets +kernel BTF \(used\), and a guess in \d+ ms agrees on every field it found/m);
    expect(lines.at(-1)).toMatch(/^ok +start +backend (tp_btf|tracepoint) .*transport (ringbuf|perf) .*offsets (btf|guess)/);
  });

  it('doctor -v: after the checks, every offset, where it came from and how it was verified', async () => {
    const n = nettop(['doctor', '-v']);
    expect(await n.exited, n.stderr()).toEqual({ code: 0, signal: null });
    expect(n.stderr()).toBe(''); // no runtime warning either (a guess once tripped dgram's DEP0112)
    const [checks, explanation] = n.stdout().split('\n\n');
    expect(checks).toMatch(/^ok +offsets /m);
    expect(explanation).toMatch(/^offsets from kernel BTF \(asked to verify/);
    expect(explanation).toMatch(/^ {2}skcDport +\d+ +.*guessed: \d+/m);
    expect(explanation).toMatch(/guessing and BTF agree on every field|difference\(s\) between guessing and BTF/);
  });

  it.skipIf(NO_BPFTOOL).concurrent.each([
    ['SIGINT', 'the table', [], /^nettop  kernel /m],
    ['SIGTERM', 'JSON', ['--json'], /^\{"schema":1,.*\n\{"schema":1,/m],
  ] as const)(`%s with %s: exit 0, none of its programs or links left; no colour on a pipe${NO_BPFTOOL ? ` (skipped: ${NO_BPFTOOL})` : ''}`, async (sig, _what, args, first) => {
    const n = nettop(['--interval', '0.3', ...args], { env: { ...process.env, NO_COLOR: undefined } });
    // The table once, or two JSON documents (one a tick).
    await n.waitStdout(first);
    const held = bpfIdsOf(n.child.pid!);
    expect(held.progs.length).toBeGreaterThan(0);
    expect(held.links.length).toBeGreaterThan(0);
    const before = bpftoolIds();
    for (const id of held.links) expect(before.links.has(id)).toBe(true);
    // stdout is a pipe: the table comes without colour (NO_COLOR is not set).
    expect(n.stdout()).not.toContain('\x1b');
    n.child.kill(sig);
    expect(await n.exited, n.stderr()).toEqual({ code: 0, signal: null });
    expect(n.stderr()).toBe('');
    // The kernel frees released links and programs after an RCU grace period: allow it a moment.
    let left = { progs: held.progs, links: held.links };
    for (let i = 0; i < 50 && left.progs.length + left.links.length > 0; i++) {
      if (i) await new Promise((r) => setTimeout(r, 100));
      const now = bpftoolIds();
      left = { progs: held.progs.filter((id) => now.progs.has(id)), links: held.links.filter((id) => now.links.has(id)) };
    }
    expect(left).toEqual({ progs: [], links: [] });
    if (args.length) for (const line of n.stdout().trim().split('\n')) expect(JSON.parse(line)).toMatchObject({ schema: 1 });
  });

  it('a runtime failure (the metrics port is taken): exit 1, one line, nothing left running', async () => {
    const taken = createServer();
    const port = await listen(taken);
    try {
      const n = nettop(['--prometheus', `127.0.0.1:${port}`]);
      expect(await n.exited).toEqual({ code: 1, signal: null });
      expect(n.stderr()).toBe(`nettop: --prometheus 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);
    } finally {
      taken.close();
    }
  });

  it.skipIf(NO_SCRIPT)(`on a terminal: colour, and none with NO_COLOR${NO_SCRIPT ? ` (skipped: ${NO_SCRIPT})` : ''}`, async () => {
    const env = { ...process.env, NO_COLOR: undefined };
    // script(1) runs the command line on a pseudo-terminal of its own.
    const tty = (extra: string) => nettop([], { env, argv: ['script', '-qec', `${extra}${process.execPath} ${CLI} --once --interval 0.2`, '/dev/null'] });
    const coloured = tty('');
    const plain = tty('NO_COLOR=1 ');
    await Promise.all([coloured.exited, plain.exited]);
    expect(coloured.stdout()).toMatch(/\x1b\[1mnettop {2}kernel /);
    // Only the screen clear: no colours.
    expect(plain.stdout().replace('\x1b[H\x1b[2J', '')).not.toContain('\x1b');
    expect(plain.stdout()).toContain('nettop  kernel ');
  });
});
