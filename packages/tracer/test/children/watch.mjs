// A tracer in its own process that watches one port, for two-tracers.e2e.test.ts:
//   node watch.mjs <backend> <port> <pollMs>
// Prints {"ready":...} once started; reads snapshot() every pollMs, keeping
// every connection to or from <port> that closed (each is delivered once);
// on the stdin line "report" prints them and the live ones as JSON.
import { createInterface } from 'node:readline';
import { Tracer } from '../../dist/index.js';

const [backendArg, portText, pollText] = process.argv.slice(2);
const backend = /** @type {import('../../dist/index.js').BackendName} */ (backendArg);
const port = Number(portText);
const tracer = await Tracer.start({ backend, udpPeers: false });
/** @typedef {import('../../dist/index.js').Connection} Connection */
/** @type {Record<string, unknown>[]} */
const closed = [];
/** @type {Record<string, unknown>[]} */
let live = [];
const plain = (/** @type {Connection} */ c) => ({
  protocol: c.protocol, localPort: c.localPort, remotePort: c.remotePort, pid: c.pid, direction: c.direction, closed: c.closed,
  sentBytes: String(c.sentBytes), recvBytes: String(c.recvBytes), sentPackets: String(c.sentPackets), recvPackets: String(c.recvPackets),
});
const poll = () => {
  live = [];
  for (const c of tracer.snapshot().toObjects()) {
    if (c.localPort !== port && c.remotePort !== port) continue;
    if (c.closed) closed.push(plain(c));
    else live.push(plain(c));
  }
};
setInterval(poll, Number(pollText));
process.stdout.write(`${JSON.stringify({ ready: tracer.info.backend, pid: process.pid })}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line !== 'report') return;
  poll();
  const st = tracer.stats();
  process.stdout.write(`${JSON.stringify({ closed, live, closedLost: String(st.kernel.closedLost), closedQueueDropped: st.closedQueueDropped })}\n`);
});
