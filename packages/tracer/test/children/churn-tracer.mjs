// The tracer of churn.e2e.test.ts, in its own process (run with --expose-gc):
//   node --expose-gc churn-tracer.mjs <backend>
// Reads snapshot() every 100 ms and counts the connections closed per
// network namespace. On the stdin line "report <netns>": collects garbage,
// then prints its RSS and heap, the closes of that namespace, its live
// connections and the tracer's stats. "reset": forget the counts so far.
import { createInterface } from 'node:readline';
import { enableBpfStats } from '@tracer-bpf/loader';
import { Tracer } from '../../dist/index.js';

const backend = /** @type {import('../../dist/index.js').BackendName} */ (process.argv[2]);
const tracer = await Tracer.start({ backend, udpPeers: false });
// Run counts of the state and destroy programs, for a round that does not add
// up: did the kernel run them for every socket? (a few ns per run; ends with
// this process)
enableBpfStats();
/** Counters at the last reset: the report gives what grew since. */
let atReset = counters();
/** The kernel-side counters a short round is read against, from one stats() read. */
function counters(st = tracer.stats()) {
  const runs = Object.fromEntries(st.programs.filter((p) => /state|destroy/.test(p.name)).map((p) => [p.name, p.runCount]));
  return { runs, seenLate: st.kernel.tcpSeenLate, readFailed: st.kernel.readFailed };
}
/**
 * What grew from the last reset to `now`.
 * @param {ReturnType<typeof counters>} now
 */
function sinceReset(now) {
  return {
    runs: Object.fromEntries(Object.entries(now.runs).map(([k, v]) => [k, Number(v - (atReset.runs[k] ?? 0n))])),
    seenLate: Number(now.seenLate - atReset.seenLate),
    readFailed: Number(now.readFailed - atReset.readFailed),
  };
}
/** @type {Map<number, number>} */
const closedByNetns = new Map();
/** The closes per namespace by reason (and seen late, pid 0), for a report that does not add up. */
/** @type {Map<number, Map<string, number>>} */
const reasonsByNetns = new Map();
/** @type {import('../../dist/index.js').Connection[]} */
let live = [];
const poll = () => {
  live = [];
  for (const c of tracer.snapshot().toObjects()) {
    if (c.closed) {
      closedByNetns.set(c.netns, (closedByNetns.get(c.netns) ?? 0) + 1);
      let r = reasonsByNetns.get(c.netns);
      if (!r) reasonsByNetns.set(c.netns, (r = new Map()));
      const k = `${c.closed}${c.seenLate ? ' late' : ''}${c.pid === 0 ? ' pid0' : ''}`;
      r.set(k, (r.get(k) ?? 0) + 1);
    } else live.push(c);
  }
};
const timer = setInterval(poll, 100);
const gc = /** @type {() => void} */ (globalThis.gc);
process.stdout.write(`${JSON.stringify({ ready: tracer.info.backend, pid: process.pid })}\n`);
createInterface({ input: process.stdin }).on('line', async (line) => {
  const [cmd, arg] = line.split(' ');
  if (cmd === 'stop') {
    clearInterval(timer);
    tracer.close();
    process.exit(0);
  }
  if (cmd === 'reset') {
    // a namespace inode is reused once its namespace is gone: count each round afresh
    poll();
    closedByNetns.clear();
    reasonsByNetns.clear();
    atReset = counters();
    process.stdout.write('{"reset":true}\n');
    return;
  }
  if (cmd !== 'report') return;
  poll();
  const netns = Number(arg);
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const st = tracer.stats();
  const m = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      closed: closedByNetns.get(netns) ?? 0,
      // how they closed, and the closes of every other namespace since the reset (a record with a wrong netns would be there)
      reasons: Object.fromEntries(reasonsByNetns.get(netns) ?? []),
      otherNetns: Object.fromEntries([...closedByNetns].filter(([n]) => n !== netns)),
      live: live.filter((c) => c.netns === netns).length,
      liveAll: live.length,
      mapEntries: st.connections,
      closedLost: Number(st.kernel.closedLost),
      closedQueueDropped: st.closedQueueDropped,
      sockStateFull: Number(st.kernel.sockStateFull),
      connStatsFull: Number(st.kernel.connStatsFull),
      // entries left behind: a destroy's delete that failed (removed by userspace), a birth that found one (sent closed)
      deleteFailed: Number(st.kernel.sockStateDeleteFailed),
      deadRemoved: st.tcpDeadRemoved,
      entryReplaced: Number(st.kernel.tcpEntryReplaced),
      // runs the kernel skipped (a BPF program already running on that CPU): a skipped destroy leaves its entry behind
      recursionMisses: st.programs.filter((p) => p.recursionMisses).map((p) => `${p.name}: ${p.recursionMisses}`),
      // since the reset, host-wide (other sockets of the host count too): program runs, sockets first seen late, failed reads
      sinceReset: sinceReset(counters(st)),
    })}\n`,
  );
});
