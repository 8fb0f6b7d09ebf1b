// Listening ports from /proc/net/tcp text (no root): only state 0A counts.
import { describe, expect, it } from 'vitest';
import { parseListening } from '../src/ports.js';

const TEXT = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:B3A2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1235 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1236 1 0000000000000000 100 0 0 10 0
`;
const TEXT6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0
`;

describe('parseListening', () => {
  it('returns the local ports of LISTEN sockets only', () => {
    expect(parseListening(TEXT)).toEqual([0x1f90, 0x16]);
    expect(parseListening(TEXT6)).toEqual([0x1f91]);
    expect(parseListening('')).toEqual([]);
  });
});
