// @ts-nocheck -- plain JS run by node
// Background traffic for test/guess.kernel.test.ts: TCP connections with
// data and UDP datagrams on 127.0.0.1 (ports the kernel picks), one every
// millisecond or so, until killed or after 60 s / 20000 connections at most.
import dgram from 'node:dgram';
import net from 'node:net';

const end = Date.now() + 60_000;
let n = 0;
const server = net.createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => {})).listen(0, '127.0.0.1', tick);
const udp = dgram.createSocket('udp4').bind(0, '127.0.0.1');
udp.on('message', () => {});
function tick() {
  if (Date.now() > end || n >= 20000) return process.exit(0);
  n++;
  const c = net.connect(server.address().port, '127.0.0.1', () => c.write(Buffer.alloc(512)));
  c.on('data', () => c.destroy());
  c.on('error', () => {});
  c.on('close', () => setTimeout(tick, 1));
  try {
    udp.send(Buffer.alloc(64), udp.address().port, '127.0.0.1');
  } catch {
    // not bound yet
  }
}
process.stdout.write('traffic started\n');
