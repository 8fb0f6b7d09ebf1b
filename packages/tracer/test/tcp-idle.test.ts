// The socket tables the idle check reads: /proc/net/tcp and tcp6 text as the
// kernel prints it, addresses written as the tracer writes them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSocketTable, tableKey } from '../src/tcp-idle.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 12346 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:9C41 0100007F:1F90 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0050 00000000000000000000000001000000:A3B2 01 00000000:00000000 00:00000000 00000000     0        0 22 1 0 20 4 30 10 -1
   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000200007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 23 1 0 20 4 30 10 -1
`;

describe('parseSocketTable', () => {
  it('reads IPv4 entries in every state (host-order hex words, port in hex)', () => {
    expect(parseSocketTable(TCP).map(tableKey)).toEqual(['127.0.0.1 8080 0.0.0.0 0', '127.0.0.1 40000 127.0.0.1 8080', '127.0.0.1 40001 127.0.0.1 8080']);
    // listening, established, time-wait (the one socketTables() leaves out: no full socket behind it)
    expect(parseSocketTable(TCP).map((e) => e.state)).toEqual([0x0a, 0x01, 0x06]);
  });

  it('reads IPv6 entries, and v4-mapped ones as IPv4 (as the tracer reports them)', () => {
    expect(parseSocketTable(TCP6).map(tableKey)).toEqual(['::1 80 ::1 41906', '127.0.0.1 8080 127.0.0.2 50000']);
  });

  it('reads this host\'s own table without a bad line', () => {
    const text = readFileSync('/proc/net/tcp', 'utf8');
    expect(parseSocketTable(text)).toHaveLength(text.trim().split('\n').length - 1);
  });
});
