// A process that uses the tracer, for the tests that end it in the middle of
// a run (exit.e2e.test.ts): start, then loopback TCP exchanges and a
// snapshot every 20 ms, one line of JSON on stdout per milestone.
//   node traced.mjs <backend>
// The stdin line "throw": an uncaught exception, from a timer. No signal handler
// of its own: what the library does (installs none) is what a user gets.
import net from 'node:net';
import { createInterface } from 'node:readline';
import { Tracer } from '../../dist/index.js';

const [backendArg = 'auto'] = process.argv.slice(2);
const backend = /** @type {import('../../dist/index.js').BackendName | 'auto'} */ (backendArg);
const say = (/** @type {object} */ o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const tracer = await Tracer.start({ backend });
say({ started: tracer.info.backend, pid: process.pid });

const server = net.createServer((s) => s.on('data', (d) => s.end(d)));
await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;

function exchange() {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => c.write(Buffer.alloc(64, 1)));
    c.on('data', () => {});
    c.on('end', () => c.end());
    c.on('close', resolve);
    c.on('error', reject);
  });
}

let snapshots = 0;
let seen = 0;
for (;;) {
  await exchange();
  seen += tracer.snapshot().toObjects().filter((c) => c.remotePort === port || c.localPort === port).length;
  snapshots++;
  if (snapshots === 5) {
    say({ running: true, snapshots, seen });
    createInterface({ input: process.stdin }).on('line', (line) => {
      if (line === 'throw') setTimeout(() => { throw new Error('uncaught, on purpose'); }, 10);
    });
  }
  await new Promise((r) => setTimeout(r, 20));
}
