// Boot one kernel under QEMU TCG (never KVM: it hangs on these machines),
// stream its serial console to a log with host timestamps, and return the
// guest's result line. Every QEMU started here is tracked so the runner can
// kill it on timeout, error or signal; with setpriv --pdeathsig it also dies
// if the runner itself is killed.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { which } from './util.mjs';

export const RESULT_PREFIX = 'TRACER_BPF_RESULT ';
const TAIL_LINES = 40;

/**
 * The result line from console lines, pushed one at a time. The kernel's own
 * messages go to the console synchronously, so one printed while the line is
 * still draining through the serial port lands inside it and ends that piece
 * ("...packages/tracer/te[  252.037389] reboot: Power down", then the rest on
 * the next line: seen at poweroff on 5.10). Such a message is cut off and the
 * next line joined on; the JSON is compact, so "[ <seconds>.<usec>] " is never
 * its own text. push() says whether the line was part of the result line, and
 * gives the result once it parses; `error` says why it does not (yet).
 */
export function resultLine() {
  let part = null;
  let done = false;
  const state = {
    error: null,
    push(l) {
      if (done) return { consumed: false };
      const start = l.indexOf(RESULT_PREFIX);
      if (start >= 0) part = l.slice(start + RESULT_PREFIX.length);
      else if (part === null) return { consumed: false };
      else part += l;
      part = part.replace(/\[\s*\d+\.\d{6}\] .*$/, '');
      try {
        const result = JSON.parse(part);
        done = true;
        state.error = null;
        return { consumed: true, result };
      } catch (e) {
        state.error = `unparsable result line (${e.message}): ${part.slice(0, 200)}`;
        return { consumed: true };
      }
    },
  };
  return state;
}

export const children = new Set();

/** Kill every QEMU still running (synchronous, safe in 'exit' handlers). */
export function killAll(signal = 'SIGKILL') {
  for (const c of children) {
    try {
      c.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

let pdeathsig;
function wrapper() {
  if (pdeathsig === undefined) {
    const sp = which('setpriv');
    pdeathsig = sp && /--pdeathsig/.test(spawnSync(sp, ['--help'], { encoding: 'utf8' }).stdout ?? '') ? sp : null;
  }
  return pdeathsig ? [pdeathsig, '--pdeathsig', 'KILL', '--'] : [];
}

export function qemuArgs({ vmlinuz, initrd, append, accel = 'tcg', cpu, cpus, memoryMiB }) {
  if (!/^tcg(,|$)/.test(accel)) throw new Error(`accel ${accel}: only TCG (KVM hangs on these machines)`);
  return [
    '-accel', accel, '-cpu', cpu, '-smp', String(cpus), '-m', String(memoryMiB),
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-serial', 'stdio',
    '-kernel', vmlinuz, '-initrd', initrd, '-append', append,
  ];
}

/**
 * Boot and wait. Resolves (never rejects) with
 *   { result?, error?, seconds, bootSeconds, tail, marks }
 */
export function boot({ qemu = 'qemu-system-x86_64', args, logFile, timeoutS, idleTimeoutS, onLine }) {
  return new Promise((resolveBoot) => {
    const t0 = Date.now();
    const el = () => (Date.now() - t0) / 1000;
    const logStream = createWriteStream(logFile);
    logStream.write(`# ${[qemu, ...args].join(' ')}\n`);
    const tail = [];
    const marks = [];
    let result = null;
    let error = null;
    let bootSeconds = null;
    let partial = '';
    const decoder = new StringDecoder('utf8');
    let lastOutput = Date.now();

    const cmd = [...wrapper(), qemu, ...args];
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);

    const assembler = resultLine();
    const line = (raw) => {
      const l = raw.replace(/\r/g, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1bc/g, '');
      logStream.write(`${el().toFixed(2).padStart(7)} ${l}\n`);
      const r = assembler.push(l); // ignores every line once the result is whole
      if (r.result) result = r.result;
      if (r.consumed) return;
      if (l.startsWith('TRACER_BPF_BOOTED')) bootSeconds = el();
      if (l.startsWith('TRACER_BPF_')) marks.push({ at: el(), what: l });
      tail.push(l);
      if (tail.length > TAIL_LINES) tail.shift();
      onLine?.(l);
    };
    const onData = (d) => {
      lastOutput = Date.now();
      partial += decoder.write(d);
      let i;
      while ((i = partial.indexOf('\n')) >= 0) {
        line(partial.slice(0, i));
        partial = partial.slice(i + 1);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => {
      lastOutput = Date.now();
      for (const l of d.toString().split('\n')) if (l.trim()) line(`[qemu] ${l}`);
    });

    let resultAt = null;
    const timer = setInterval(() => {
      if (result && resultAt === null) resultAt = el();
      if (resultAt !== null) {
        if (el() - resultAt > 30) child.kill('SIGKILL'); // printed its result but did not power off
      } else if (el() > timeoutS) {
        error = `timed out after ${timeoutS} s`;
        child.kill('SIGKILL');
      } else if (idleTimeoutS && (Date.now() - lastOutput) / 1000 > idleTimeoutS) {
        error = `no console output for ${idleTimeoutS} s (hung?)`;
        child.kill('SIGKILL');
      }
    }, 1000);

    child.on('error', (e) => {
      error = `cannot start ${qemu}: ${e.message}`;
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      children.delete(child);
      if (partial) line(partial);
      if (!result && assembler.error && !error) error = assembler.error;
      const seconds = el();
      if (!result && !error) {
        const panic = tail.find((l) => /Kernel panic|Attempted to kill init/.test(l));
        const how = signal ? `qemu killed by ${signal}` : `qemu exit ${code}`;
        error = panic ? `${panic.replace(/^\[[\s\d.]+\]\s*/, '')} (${how}, no result line)` : `the guest ended without a result line (${how})`;
      }
      logStream.end(() => resolveBoot({ result, error, seconds, bootSeconds, tail, marks }));
    });
  });
}
