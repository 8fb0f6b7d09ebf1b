#!/usr/bin/env node
// Closed-connection loss benchmark (issue 12): build/churn (the tracer's
// churn generator, packages/tracer/test/c/churn.c) makes short loopback TCP
// connections at --rate connections/s for --seconds in a fresh network
// namespace, closed with an RST, and counts what it made; each connection
// ends two sockets (client and server), so 10 000 connections/s are 20 000
// closes/s. A tracer with its defaults (ring buffer 1 MiB, closedPollMs 200)
// runs in this process, its consumer a closedConnections() iterator, as a
// user's would be. Per round: closes the tracer delivered for that
// namespace, and lost = 2 x made - delivered (with the tracer's own loss
// counters, stats().kernel.closedLost and the iterator's queue drops
// (stats().clients), which must account for every one). One tracer for all rounds; the rate the generator
// really reached is printed too (on a shared 2-CPU box it may fall short).
// Goal: 0 lost of what the generator counted.
//
//   node closed-loss.mjs [--rounds 15] [--rate 10000] [--seconds 10] [--backend tp_btf] [--out <file.json>]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tracer } from '@tracer-bpf/tracer';
import { environment, parseOptions, reporter, stats } from './lib/common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const CHURN = join(HERE, 'build', 'churn');
const { log, die } = reporter('closed-loss');
const o = parseOptions(process.argv.slice(2), {
  script: fileURLToPath(import.meta.url),
  defaults: { rounds: 15, rate: 10_000, seconds: 10, backend: 'tp_btf', out: join(REPO, 'bench-results', 'closed-loss.json') },
  ints: { rounds: 'rounds', rate: 'rate', seconds: 'seconds' },
  strings: { out: 'out', backend: 'backend' },
  die,
});
if (process.getuid?.() !== 0) die('run as root: the tracer loads BPF programs, the generator makes a network namespace');
if (!existsSync(CHURN)) die(`${CHURN} is missing: run tools/bench/build.sh`);

/** The generator, asynchronously: the tracer's consumer runs in this process's event loop meanwhile. */
function churn(count, rate) {
  return new Promise((resolve, reject) => {
    const p = spawn(CHURN, [String(count), String(rate)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b) => (out += b));
    p.stderr.on('data', (b) => (err += b));
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`churn exited ${code}: ${err}`))));
  });
}

/** Closed connections dropped from the closedConnections() iterator's own queue. */
const iteratorDropped = (st) => st.clients.filter((c) => c.name.startsWith('closed-iterator')).reduce((a, c) => a + c.dropped, 0);

const t0 = Date.now();
const tracer = await Tracer.start({ backend: o.backend });
// Close records by the generator's pid (its sockets' I/O is its own; a pid is new every round, while a
// namespace's inode number is reused by the next round's namespace), with the longest time from a close
// (the record's lastUpdate, CLOCK_MONOTONIC) to its delivery here.
const byPid = new Map();
const latestMs = new Map();
/** Records of a round already counted, delivered after its count: none expected. */
let afterCount = 0;
const counted = new Set();
const pidZero = new Map();
const consumer = (async () => {
  for await (const c of tracer.closedConnections()) {
    const nowNs = Number(process.hrtime.bigint());
    if (counted.has(c.pid)) {
      afterCount++;
      // What it is: a record of a round already counted (the kernel closed it late, or it came late)
      const { id, localPort, remotePort, direction, closed, tcp, start, lastUpdate, seenLate } = c;
      log(`delivered after its round was counted: ${JSON.stringify({ pid: c.pid, id: String(id), localPort, remotePort, direction, closed, seenLate, states: tcp?.states, startToCloseMs: (lastUpdate - start) / 1e6, closeToNowMs: (nowNs - lastUpdate) / 1e6 })}`);
    }
    byPid.set(c.pid, (byPid.get(c.pid) ?? 0) + 1);
    // charged to no process (a socket of the generator whose I/O was never seen): by namespace, not in `delivered`
    if (c.pid === 0) pidZero.set(c.netns, (pidZero.get(c.netns) ?? 0) + 1);
    const ms = (nowNs - c.lastUpdate) / 1e6;
    if (ms > (latestMs.get(c.pid) ?? 0)) latestMs.set(c.pid, ms);
  }
})();
const rounds = [];
try {
  for (let r = 0; r < o.rounds; r++) {
    const before = tracer.stats();
    const made = await churn(o.rate * o.seconds, o.rate);
    // What is still in the ring comes within closedPollMs: wait for every close, 10 s at most.
    for (let i = 0; i < 50 && (byPid.get(made.pid) ?? 0) < 2 * made.made; i++) await new Promise((res) => setTimeout(res, 200));
    const after = tracer.stats();
    const delivered = byPid.get(made.pid) ?? 0;
    counted.add(made.pid);
    const noPid = pidZero.get(made.netns) ?? 0;
    pidZero.delete(made.netns);
    const row = {
      made: made.made,
      failed: made.failed,
      rate: made.made / (made.elapsedNs / 1e9),
      closes: 2 * made.made,
      delivered,
      lost: 2 * made.made - delivered,
      kernelLost: Number(after.kernel.closedLost - before.kernel.closedLost),
      // our reader's queue (snapshot()'s default client, never called here, fills and drops: not ours)
      queueDropped: iteratorDropped(after) - iteratorDropped(before),
      /** The longest a close took from the kernel to this process, ms. */
      latestMs: latestMs.get(made.pid) ?? null,
      /** Records of the round's namespace charged to pid 0 (not counted as delivered). */
      pidZero: noPid,
      /** Entries left behind in the kernel map: deletes that failed (the entry marked dead), births that found one (sent closed). */
      deleteFailed: Number(after.kernel.sockStateDeleteFailed - before.kernel.sockStateDeleteFailed),
      entryReplaced: Number(after.kernel.tcpEntryReplaced - before.kernel.tcpEntryReplaced),
      /** Runs the kernel skipped per program (already running on that CPU): a skipped destroy leaves its entry behind. */
      recursionMisses: Object.fromEntries(after.programs.map((p) => [p.name, Number(p.recursionMisses ?? 0n) - Number(before.programs.find((q) => q.name === p.name)?.recursionMisses ?? 0n)]).filter(([, n]) => n > 0)),
    };
    rounds.push(row);
    log(`round ${r + 1}/${o.rounds}: ${row.made} connections at ${Math.round(row.rate)}/s (${Math.round(2 * row.rate)} closes/s), delivered ${delivered} of ${row.closes}, lost ${row.lost} (kernel ring ${row.kernelLost}, queues ${row.queueDropped}), slowest delivery ${row.latestMs?.toFixed(0)} ms${row.pidZero ? `, ${row.pidZero} charged to pid 0` : ''}${row.deleteFailed ? `, ${row.deleteFailed} deletes failed` : ''}${row.entryReplaced ? `, ${row.entryReplaced} entries replaced at a birth` : ''}${Object.keys(row.recursionMisses).length ? `, runs skipped (recursion): ${JSON.stringify(row.recursionMisses)}` : ''}`);
  }
} finally {
  tracer.close();
  await consumer;
}

const lost = stats(rounds.map((r) => r.lost));
const rate = stats(rounds.map((r) => 2 * r.rate));
const unaccounted = rounds.filter((r) => r.lost !== r.kernelLost + r.queueDropped).length;
const totalLost = rounds.reduce((a, r) => a + r.lost, 0);
console.log(`\nclosed connections lost, ${o.rounds} rounds of ${o.seconds} s at ${o.rate} connections/s (${2 * o.rate} closes/s asked) on ${o.backend}`);
console.log(`closes/s reached: median ${Math.round(rate.median)}, min ${Math.round(rate.min)}, p90 ${Math.round(rate.p90)}`);
console.log(`lost per round:   median ${lost.median}, min ${lost.min}, p90 ${lost.p90}, max ${lost.max}; ${totalLost} of ${rounds.reduce((a, r) => a + r.closes, 0)} in all`);
console.log(`every loss counted by the tracer (ring full / queue full): ${unaccounted === 0 ? 'yes' : `NO, in ${unaccounted} rounds`}; records delivered after their round was counted: ${afterCount}`);
const slowest = stats(rounds.map((r) => r.latestMs ?? 0));
console.log(`slowest delivery per round (close to this process), ms: median ${slowest.median.toFixed(0)}, max ${slowest.max.toFixed(0)}`);
const pass = lost.median === 0;
console.log(`Goal: 0 lost of what the generator made (median round) ... ${pass ? 'PASS' : 'MISS'}  ${lost.median}`);
mkdirSync(dirname(o.out), { recursive: true });
writeFileSync(o.out, `${JSON.stringify({ env: environment(), config: o, rounds, lost, closesPerSecond: rate, unaccountedRounds: unaccounted, deliveredAfterCount: afterCount, slowestDeliveryMs: slowest, goal: { lostMedian: lost.median, pass }, elapsedS: (Date.now() - t0) / 1000 }, null, 2)}\n`);
log(`wrote ${o.out}`);
if (unaccounted || afterCount) process.exitCode = 1;
