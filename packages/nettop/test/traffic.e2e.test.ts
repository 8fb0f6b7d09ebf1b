// nettop --once --json as a child process while this test drives real
// loopback traffic: the bytes it reports for exactly those connections equal
// what the sockets moved.
import { statSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type ConnectionRow, type SampleDoc } from '../src/sample.js';
import { curl, have, NOT_ROOT, nettop, rawHttpServer, tcpTransfer, udpExchange } from './e2e.js';

const NETNS = statSync('/proc/self/ns/net').ino;
const RESPONSE = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n${'x'.repeat(5000)}`);
const NO_CURL = have('curl') ? undefined : 'curl is not installed (apt-get install curl)';

/** The one row of `rows` with this local and remote port. */
function row(rows: ConnectionRow[], protocol: string, localPort: number, remotePort: number): ConnectionRow {
  const found = rows.filter((r) => r.protocol === protocol && r.localPort === localPort && r.remotePort === remotePort);
  expect(found, `${protocol} ${localPort} -> ${remotePort} in ${JSON.stringify(rows)}`).toHaveLength(1);
  return found[0]!;
}

function checkSchema(doc: SampleDoc): void {
  expect(doc.schema).toBe(SCHEMA_VERSION);
  expect(Number.isNaN(Date.parse(doc.time))).toBe(false);
  expect(doc.intervalSeconds).toBeGreaterThan(0);
  expect(doc.tracer).toEqual({ kernel: expect.any(String), backend: expect.any(String), transport: expect.any(String), offsets: expect.any(String) });
  for (const k of ['closedLost', 'closedLostSamples', 'closedQueueDropped', 'connStatsFull', 'sockStateFull', 'readFailed', 'mapEntries', 'mapCapacity'] as const) {
    expect(doc.losses[k], k).toEqual(expect.any(Number));
  }
  for (const r of doc.connections) {
    expect(r).toMatchObject({ id: expect.stringMatching(/^\d+$/), protocol: expect.stringMatching(/^(tcp|udp)$/), family: expect.stringMatching(/^ipv[46]$/), pid: expect.any(Number) });
    expect(['incoming', 'outgoing', 'unknown']).toContain(r.direction);
    for (const k of ['sentBytes', 'recvBytes', 'sentPackets', 'recvPackets', 'intervalSentBytes', 'intervalRecvBytes', 'sendRate', 'recvRate'] as const) expect(r[k]).toBeGreaterThanOrEqual(0);
  }
}

describe.skipIf(NOT_ROOT)('nettop --once --json with real traffic', () => {
  let doc: SampleDoc;
  let filtered: ConnectionRow[];
  let httpPort: number;
  let httpReceived: Map<number, number>;
  let c: Awaited<ReturnType<typeof curl>> | undefined;
  let udp: Awaited<ReturnType<typeof udpExchange>>;
  let tcp: Awaited<ReturnType<typeof tcpTransfer>>;

  // One run of two nettops (all, and --port of the HTTP server) over the traffic of every test below.
  beforeAll(async () => {
    const http = await rawHttpServer(RESPONSE);
    httpPort = http.port;
    httpReceived = http.received;
    const all = nettop(['--once', '--json', '--interval', '3', '--verbose']);
    const byPort = nettop(['--once', '--json', '--interval', '3', '--verbose', '--port', String(http.port)]);
    try {
      await Promise.all([all.waitStderr(/tracing: /), byPort.waitStderr(/tracing: /)]);
      c = NO_CURL ? undefined : await curl(`http://127.0.0.1:${http.port}/x`);
      udp = await udpExchange(100, 1300);
      tcp = await tcpTransfer(1234, 4 << 20);
      const [a, f] = await Promise.all([all.exited, byPort.exited]);
      expect(a, all.stderr()).toEqual({ code: 0, signal: null });
      expect(f, byPort.stderr()).toEqual({ code: 0, signal: null });
    } finally {
      http.close();
      all.child.kill();
      byPort.child.kill();
    }
    const lines = all.stdout().trim().split('\n');
    expect(lines).toHaveLength(1);
    doc = JSON.parse(lines[0]!) as SampleDoc;
    filtered = (JSON.parse(byPort.stdout()) as SampleDoc).connections;
  });

  it('prints one JSON document of schema 1', () => {
    checkSchema(doc);
  });

  it('a TCP transfer: both ends exact both ways, rates over the interval', () => {
    expect(tcp.clientGot).toBe(4 << 20);
    const tc = row(doc.connections, 'tcp', tcp.clientPort, tcp.serverPort);
    expect(tc).toMatchObject({ pid: process.pid, netns: NETNS, direction: 'outgoing', sentBytes: 1234, recvBytes: 4 << 20, intervalSentBytes: 1234, intervalRecvBytes: 4 << 20, seenLate: false });
    expect(row(doc.connections, 'tcp', tcp.serverPort, tcp.clientPort)).toMatchObject({ pid: process.pid, direction: 'incoming', sentBytes: 4 << 20, recvBytes: 1234 });
    // Rates are over the interval (intervalSeconds is rounded to ms).
    expect(Math.abs(tc.sendRate - 1234 / doc.intervalSeconds)).toBeLessThan(1);
  });

  it('a UDP request/response: the connected client exact; the server side sums to the same', () => {
    expect(udp.clientGot).toBe(1300);
    expect(row(doc.connections, 'udp', udp.clientPort, udp.serverPort)).toMatchObject({ pid: process.pid, sentBytes: 100, recvBytes: 1300, sentPackets: 1, recvPackets: 1, direction: 'outgoing' });
    // Its first datagram may be counted before the tracer attaches the peer programs (unspecified peer): sum the server's flows.
    const server = doc.connections.filter((r) => r.protocol === 'udp' && r.localPort === udp.serverPort);
    expect(server.reduce((n, r) => n + r.recvBytes, 0)).toBe(100);
    expect(server.reduce((n, r) => n + r.sentBytes, 0)).toBe(1300);
  });

  it.skipIf(NO_CURL)(`curl against a raw HTTP server: what each side wrote${NO_CURL ? ` (skipped: ${NO_CURL})` : ''}`, () => {
    const got = c!;
    const requestBytes = httpReceived.get(got.localPort);
    expect(requestBytes).toBe(got.sizeRequest);
    expect(got.sizeHeader + got.sizeDownload).toBe(RESPONSE.length);
    const cr = row(doc.connections, 'tcp', got.localPort, httpPort);
    expect(cr).toMatchObject({ pid: got.pid, direction: 'outgoing', sentBytes: requestBytes, recvBytes: RESPONSE.length });
    // The tracer names a process from /proc when it reads the connection: curl may be gone by then.
    expect([null, 'curl']).toContain(cr.command);
    expect(row(doc.connections, 'tcp', httpPort, got.localPort)).toMatchObject({ pid: process.pid, direction: 'incoming', sentBytes: RESPONSE.length, recvBytes: requestBytes });
  });

  it('--port keeps only connections with that port on either side', () => {
    expect(filtered.every((r) => r.localPort === httpPort || r.remotePort === httpPort)).toBe(true);
    if (c) expect(filtered.map((r) => r.localPort).sort()).toEqual([httpPort, c.localPort].sort());
  });
});
