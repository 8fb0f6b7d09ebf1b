// The two enum encodings (kernel bits, userspace enums) stay apart.
import { describe, expect, it } from 'vitest';
import {
  abi,
  CONN_CLOSED_BATCH_SIZE,
  ConnDirection,
  ConnectionFamily,
  ConnectionType,
  connectionFamily,
  connectionFamilyName,
  connectionType,
  connectionTypeName,
  ConnFamilyBit,
  ConnFlags,
  ConnTypeBit,
  GuessWhat,
  TcpState,
  TRACER_ABI_VERSION,
} from '../src/index.js';

describe('enums', () => {
  it('kernel constants come from the generated table', () => {
    expect(ConnTypeBit).toEqual({ UDP: abi.enums.conn_type_bit.CONN_TYPE_UDP, TCP: abi.enums.conn_type_bit.CONN_TYPE_TCP, MASK: abi.enums.conn_type_bit.CONN_TYPE_MASK });
    expect(ConnFamilyBit.V6).toBe(abi.enums.conn_family_bit.CONN_V6);
    expect(ConnDirection.OUTGOING).toBe(abi.enums.conn_direction.CONN_DIRECTION_OUTGOING);
    expect(ConnFlags.ASSURED).toBe(abi.enums.conn_flags.CONN_ASSURED);
    expect(Object.keys(TcpState)).toHaveLength(Object.keys(abi.enums.tcp_state_num).length);
    expect(TcpState.CLOSE).toBe(abi.enums.tcp_state_num.TCP_STATE_CLOSE);
    expect(GuessWhat.NOT_APPLICABLE).toBe(abi.enums.guess_what.GUESS_NOT_APPLICABLE);
    expect(CONN_CLOSED_BATCH_SIZE).toBe(abi.enums.tracer_abi_const.CONN_CLOSED_BATCH_SIZE);
    expect(TRACER_ABI_VERSION).toBe(abi.enums.tracer_abi_const.TRACER_ABI_VERSION);
  });

  it('the seed\'s two encodings differ, and conversion goes through the metadata bits', () => {
    // Kernel: UDP=0/TCP=1, V4=0/V6=2; userspace: TCP=0/UDP=1, AFINET=0/AFINET6=1.
    expect(ConnTypeBit.TCP).not.toBe(ConnectionType.TCP);
    expect(ConnFamilyBit.V6).not.toBe(ConnectionFamily.AFINET6);
    const cases = [
      [ConnTypeBit.TCP | ConnFamilyBit.V4, ConnectionType.TCP, ConnectionFamily.AFINET, 'TCP', 'v4'],
      [ConnTypeBit.TCP | ConnFamilyBit.V6, ConnectionType.TCP, ConnectionFamily.AFINET6, 'TCP', 'v6'],
      [ConnTypeBit.UDP | ConnFamilyBit.V4, ConnectionType.UDP, ConnectionFamily.AFINET, 'UDP', 'v4'],
      [ConnTypeBit.UDP | ConnFamilyBit.V6, ConnectionType.UDP, ConnectionFamily.AFINET6, 'UDP', 'v6'],
    ] as const;
    for (const [metadata, type, family, typeName, familyName] of cases) {
      expect(connectionType(metadata)).toBe(type);
      expect(connectionFamily(metadata)).toBe(family);
      expect(connectionTypeName(connectionType(metadata))).toBe(typeName);
      expect(connectionFamilyName(connectionFamily(metadata))).toBe(familyName);
    }
  });
});
