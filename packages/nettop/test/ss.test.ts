import { describe, expect, it } from 'vitest';
import { compareAccuracy, kernelBytes } from '../src/accuracy.js';
import { parseEndpoint, parseSs, type SsSocket } from '../src/ss.js';
import { conn } from './fixtures.js';

// What `ss -tin` printed here (iproute2 6.1, kernel 6.18), trimmed, plus an IPv6 and a mapped socket.
const SS = `State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
ESTAB 0      0      127.0.0.1:36790 127.0.0.1:36869
\t bbr wscale:10,10 rto:204 rtt:0.033/0.018 ato:40 mss:35328 cwnd:11 bytes_sent:1000 bytes_acked:1001 bytes_received:500 segs_out:4 segs_in:3 data_segs_out:1 data_segs_in:1 send 94208000000bps lastsnd:324 delivered:2 app_limited rcv_space:65495 minrtt:0.012 snd_wnd:70656
ESTAB 12     3      127.0.0.1:36869 127.0.0.1:36790
\t bbr wscale:10,10 rto:204 rtt:0.024/0.01 bytes_sent:503 bytes_retrans:2 bytes_acked:500 bytes_received:1012 notsent:7 segs_out:2
TIME-WAIT 0 0 127.0.0.1:5000 127.0.0.1:5001
ESTAB 0      0      [::1]:8080 [::1]:45678
\t cubic bytes_acked:1 bytes_received:10
ESTAB 0      0      [::ffff:10.1.2.3]%eth0:22 [::ffff:10.1.2.4]:50000
\t cubic bytes_sent:1 bytes_acked:1 bytes_received:1
`;

describe('ss -tin', () => {
  it('endpoints: IPv4, IPv6 in brackets, interface scope, IPv4-mapped as IPv4', () => {
    expect(parseEndpoint('127.0.0.1:80')).toEqual({ address: '127.0.0.1', port: 80 });
    expect(parseEndpoint('[::1]:80')).toEqual({ address: '::1', port: 80 });
    expect(parseEndpoint('[FE80::1%eth0]:22')).toEqual({ address: 'fe80::1', port: 22 });
    expect(parseEndpoint('10.0.0.1%lo:53')).toEqual({ address: '10.0.0.1', port: 53 });
    expect(parseEndpoint('[::ffff:10.1.2.3]:22')).toEqual({ address: '10.1.2.3', port: 22 });
    expect(parseEndpoint('*:*')).toBeUndefined();
  });

  it('sockets with their TCP_INFO byte counters', () => {
    const s = parseSs(SS);
    expect(s).toHaveLength(5);
    expect(s[0]).toEqual({ state: 'ESTAB', localAddress: '127.0.0.1', localPort: 36790, remoteAddress: '127.0.0.1', remotePort: 36869, recvQ: 0, sendQ: 0, bytesSent: 1000, bytesAcked: 1001, bytesReceived: 500 });
    expect(s[1]).toMatchObject({ recvQ: 12, sendQ: 3, bytesSent: 503, bytesRetrans: 2, notsent: 7, bytesReceived: 1012 });
    expect(s[2]).toMatchObject({ state: 'TIME-WAIT', localPort: 5000 });
    expect(s[3]).toMatchObject({ localAddress: '::1', localPort: 8080, bytesAcked: 1, bytesReceived: 10 });
    expect(s[3]!.bytesSent).toBeUndefined();
    expect(s[4]).toMatchObject({ localAddress: '10.1.2.3', remoteAddress: '10.1.2.4' });
  });

  it('one-line output (ss -O) and no sockets at all', () => {
    expect(parseSs('ESTAB 0 0 1.1.1.1:1 2.2.2.2:2 cubic bytes_sent:5 bytes_received:6\n')[0]).toMatchObject({ bytesSent: 5, bytesReceived: 6 });
    expect(parseSs('')).toEqual([]);
  });
});

describe('accuracy', () => {
  const ss = (over: Partial<SsSocket>): SsSocket => ({ state: 'ESTAB', localAddress: '127.0.0.1', localPort: 40000, remoteAddress: '127.0.0.1', remotePort: 80, recvQ: 0, sendQ: 0, ...over });

  it('the kernel side on our definitions', () => {
    // bytes_sent - bytes_retrans + notsent; bytes_received - Recv-Q.
    expect(kernelBytes(ss({ bytesSent: 503, bytesRetrans: 2, notsent: 7, bytesReceived: 1012, recvQ: 12 }), false)).toEqual({ sent: 508, recv: 1000 });
    // Without bytes_sent: bytes_acked + Send-Q, less the SYN the connecting side counts.
    expect(kernelBytes(ss({ bytesAcked: 1001, sendQ: 5, bytesReceived: 0 }), true)).toEqual({ sent: 1005, recv: 0 });
    expect(kernelBytes(ss({ bytesAcked: 500, bytesReceived: 0 }), false)).toEqual({ sent: 500, recv: 0 });
    expect(kernelBytes(ss({}), false)).toEqual({ sent: undefined, recv: undefined });
  });

  it('worst difference over the sockets both know, in our namespace, seen from their start', () => {
    const NS = 4026531840;
    const conns = [
      conn({ sentBytes: 100, recvBytes: 1000 }),
      conn({ localPort: 40001, sentBytes: 10, recvBytes: 0 }),
      conn({ localPort: 40002, sentBytes: 999, seenLate: true }),
      conn({ localPort: 40003, netns: 1 }),
      conn({ localPort: 40004, closed: 'destroyed' }),
      conn({ localPort: 40005, protocol: 'udp', tcp: undefined }),
    ];
    const sockets = [
      ss({ bytesSent: 100, bytesReceived: 1003 }),
      ss({ localPort: 40001, bytesSent: 14, bytesReceived: 0 }),
      ss({ localPort: 40002, bytesSent: 0, bytesReceived: 0 }),
      ss({ localPort: 40003, bytesSent: 0, bytesReceived: 0 }),
      ss({ localPort: 40004, bytesSent: 0, bytesReceived: 0 }),
      ss({ localPort: 40005, bytesSent: 0, bytesReceived: 0 }),
      ss({ localPort: 40006, bytesSent: 0, bytesReceived: 0 }),
      ss({ localPort: 40001, state: 'FIN-WAIT-1', bytesSent: 0, bytesReceived: 0 }),
    ];
    expect(compareAccuracy(conns, sockets, NS)).toEqual({ sockets: 2, maxSentDiffBytes: 4, maxRecvDiffBytes: 3 });
  });

  it('a socket used by several processes: the sum of its entries', () => {
    const conns = [conn({ pid: 1, sentBytes: 60, recvBytes: 0 }), conn({ pid: 2, sentBytes: 40, recvBytes: 0 })];
    expect(compareAccuracy(conns, [ss({ bytesSent: 100, bytesReceived: 0 })], 4026531840)).toEqual({ sockets: 1, maxSentDiffBytes: 0, maxRecvDiffBytes: 0 });
  });
});
