// The socket helpers (no BPF, no root): TCP_INFO, the queue ioctls, options,
// send/recv with flags, and their errors (errno and system call).
import { closeSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { BpfError, setSocketOption, socketAccept, socketBind, socketConnect, socketListen, socketName, socketQueue, socketRecv, socketSend, socketSendTo, socketShutdown, tcpInfo, tcpSocket, udpSocket } from '../src/index.js';

const fdOf = (s: net.Socket): number => (s as unknown as { _handle: { fd: number } })._handle.fd;

async function pair(): Promise<{ a: net.Socket; b: net.Socket; close(): void }> {
  const srv = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const a = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  a.pause();
  await new Promise<void>((r) => a.once('connect', () => r()));
  const b = await accepted;
  return { a, b, close: () => (a.destroy(), b.destroy(), srv.close()) };
}

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !ok(); i++) await new Promise((r) => setTimeout(r, 1));
}

describe('socket helpers', () => {
  it('TCP_INFO and the queues of a connected pair', async () => {
    const p = await pair();
    try {
      const info = tcpInfo(fdOf(p.a));
      expect(info.length).toBeGreaterThanOrEqual(144);
      expect(info[0]).toBe(1); // TCP_ESTABLISHED
      expect(socketSend(fdOf(p.b), Buffer.alloc(777, 7))).toBe(777);
      await until(() => socketQueue(fdOf(p.a), 'inq') === 777);
      expect(socketQueue(fdOf(p.a), 'inq')).toBe(777);
      // MSG_PEEK leaves the data; a read takes it
      const buf = Buffer.alloc(1000);
      expect(socketRecv(fdOf(p.a), buf, 2)).toBe(777);
      expect(socketQueue(fdOf(p.a), 'inq')).toBe(777);
      expect(socketRecv(fdOf(p.a), buf)).toBe(777);
      expect(socketQueue(fdOf(p.a), 'inq')).toBe(0);
      expect(tcpInfo(fdOf(p.a)).readBigUInt64LE(128)).toBe(777n); // tcpi_bytes_received
      setSocketOption(fdOf(p.a), 6, 13, 'reno'); // TCP_CONGESTION
      socketShutdown(fdOf(p.a), 'write');
      await until(() => tcpInfo(fdOf(p.b))[0] === 8);
      expect(tcpInfo(fdOf(p.b))[0]).toBe(8); // CLOSE_WAIT
    } finally {
      p.close();
    }
  });

  it('a non-blocking read with nothing queued is EAGAIN; a closed fd is EBADF, with the system call named', async () => {
    const p = await pair();
    try {
      expect(() => socketRecv(fdOf(p.a), Buffer.alloc(10))).toThrow(expect.objectContaining({ code: 'EAGAIN', syscall: 'recv' }));
    } finally {
      p.close();
    }
    let err: unknown;
    try {
      tcpInfo(1_000_000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect(err).toMatchObject({ code: 'EBADF', errno: 9, syscall: 'getsockopt' });
    expect(() => socketQueue(0, 'nope' as never)).toThrow(/the ioctl must be inq, outq or outqnsd, not nope/);
    expect(() => socketSendTo(0, Buffer.alloc(1), 'not-an-address', 1)).toThrow(/the address must be an IPv4 or IPv6 literal, not not-an-address/);
  });

  it('a TCP socket of its own: bound, named; sendto on it unconnected is refused, naming the call', () => {
    const fd = tcpSocket(4);
    try {
      socketBind(fd, '127.0.0.1', 0);
      const n = socketName(fd);
      expect(n.address).toBe('127.0.0.1');
      expect(n.port).toBeGreaterThan(0);
      expect(() => socketSendTo(fd, Buffer.alloc(1), '127.0.0.1', 9)).toThrow(expect.objectContaining({ syscall: 'sendto' }));
    } finally {
      closeSync(fd);
    }
  });

  it('plain sockets end to end: listen, a non-blocking connect, accept (-1 while none waits), data both ways; UDP bound, connected, a datagram read', async () => {
    const fds: number[] = [];
    const own = (fd: number): number => (fds.push(fd), fd);
    try {
      const l = own(tcpSocket(4));
      socketBind(l, '127.0.0.1', 0);
      socketListen(l, 8);
      const { port } = socketName(l);
      expect(socketAccept(l)).toBe(-1);
      const c = own(tcpSocket(4));
      socketConnect(c, '127.0.0.1', port);
      let a = -1;
      for (let i = 0; i < 1000 && a < 0; i++) {
        a = socketAccept(l);
        if (a < 0) await new Promise((r) => setTimeout(r, 1));
      }
      expect(a).toBeGreaterThan(2);
      own(a);
      expect(tcpInfo(c)[0]).toBe(1); // TCP_ESTABLISHED
      expect(socketSend(c, Buffer.from('ping'))).toBe(4);
      expect(socketSend(a, Buffer.from('pong!'))).toBe(5);
      const got = Buffer.alloc(8);
      expect(socketRecv(a, got)).toBe(4);
      expect(got.subarray(0, 4).toString()).toBe('ping');
      expect(socketRecv(c, got)).toBe(5);
      expect(got.subarray(0, 5).toString()).toBe('pong!');
      expect(socketName(a)).toEqual({ address: '127.0.0.1', port });
      const u0 = own(udpSocket(4));
      expect(() => socketListen(u0, 1)).toThrow(expect.objectContaining({ code: 'EOPNOTSUPP', syscall: 'listen' }));

      const u1 = own(udpSocket(6));
      socketBind(u1, '::ffff:127.0.0.1', 0);
      const u2 = own(udpSocket(4));
      socketBind(u2, '127.0.0.1', 0);
      socketConnect(u2, '127.0.0.1', socketName(u1).port);
      expect(socketSend(u2, Buffer.from('dgram'))).toBe(5);
      const d = Buffer.alloc(16);
      expect(socketRecv(u1, d)).toBe(5);
      expect(d.subarray(0, 5).toString()).toBe('dgram');
      expect(() => socketRecv(u1, d)).toThrow(expect.objectContaining({ code: 'EAGAIN', syscall: 'recv' }));
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  });
});
