// The two enum encodings (kernel bits, userspace enums) stay apart.
import { describe, expect, it } from 'vitest';
import {
  abi,
  CloseReason,
  closeReason,
  CONN_CLOSED_BATCH_SIZE,
  ConnCloseReason,
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
  IpProtocol,
  TcpState,
  TRACER_ABI_VERSION,
} from '../src/index.js';

describe('enums', () => {
  it('kernel constants come from the generated table', () => {
    expect(ConnTypeBit).toEqual({ UDP: abi.enums.conn_type_bit.CONN_TYPE_UDP, TCP: abi.enums.conn_type_bit.CONN_TYPE_TCP, MASK: abi.enums.conn_type_bit.CONN_TYPE_MASK });
    expect(ConnFamilyBit.V6).toBe(abi.enums.conn_family_bit.CONN_V6);
    expect(ConnDirection.OUTGOING).toBe(abi.enums.conn_direction.CONN_DIRECTION_OUTGOING);
    expect(ConnFlags).toEqual({
      L_INIT: abi.enums.conn_flags.CONN_L_INIT,
      R_INIT: abi.enums.conn_flags.CONN_R_INIT,
      ASSURED: abi.enums.conn_flags.CONN_ASSURED,
      ID_COOKIE: abi.enums.conn_flags.CONN_ID_COOKIE,
      SEEN_LATE: abi.enums.conn_flags.CONN_SEEN_LATE,
      NO_PID: abi.enums.conn_flags.CONN_NO_PID,
    });
    expect(ConnCloseReason).toEqual({
      DESTROYED: abi.enums.conn_close_reason.CONN_CLOSE_DESTROYED,
      FAILED: abi.enums.conn_close_reason.CONN_CLOSE_FAILED,
      EXPIRED: abi.enums.conn_close_reason.CONN_CLOSE_EXPIRED,
    });
    expect(Object.keys(TcpState)).toHaveLength(Object.keys(abi.enums.tcp_state_num).length);
    expect(TcpState.CLOSE).toBe(abi.enums.tcp_state_num.TCP_STATE_CLOSE);
    expect(GuessWhat).toEqual({ SOCK: abi.enums.guess_what.GUESS_SOCK, MSGHDR: abi.enums.guess_what.GUESS_MSGHDR, SKB: abi.enums.guess_what.GUESS_SKB, SOCKET: abi.enums.guess_what.GUESS_SOCKET });
    expect(CONN_CLOSED_BATCH_SIZE).toBe(abi.enums.tracer_abi_const.CONN_CLOSED_BATCH_SIZE);
    expect(TRACER_ABI_VERSION).toBe(abi.enums.tracer_abi_const.TRACER_ABI_VERSION);
    expect(TRACER_ABI_VERSION).toBe(5);
  });

  it('close reasons: every kernel reason has its own userspace name; anything else is unknown', () => {
    // A reason added to the header fails here until CloseReason knows it.
    for (const [name, value] of Object.entries(ConnCloseReason)) {
      expect(closeReason(value), name).toBe(CloseReason[name as keyof typeof ConnCloseReason]);
    }
    expect(new Set(Object.values(ConnCloseReason).map(closeReason)).size).toBe(Object.keys(ConnCloseReason).length);
    expect(Object.values(CloseReason).sort()).toEqual(['destroyed', 'expired', 'failed', 'unknown']);
    for (const v of [0, 4, 255, -1, Number.NaN]) expect(closeReason(v)).toBe(CloseReason.UNKNOWN);
    // Userspace names are strings: never mixed up with the kernel numbers.
    expect(Object.values(CloseReason).every((v) => typeof v === 'string')).toBe(true);
    expect(IpProtocol).toEqual({ TCP: 6, UDP: 17 });
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
