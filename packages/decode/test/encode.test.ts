// The encoders of the records userspace writes (map keys): values checked
// against their fields, address text parsed as inet_pton does, keys zeroed.
// Byte-exact round trips against gcc's golden records are in golden.test.ts.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  abi,
  CONN_TUPLE_SIZE,
  ConnFamilyBit,
  ConnTypeBit,
  decodePortBinding,
  decodeTuple,
  encodePortBinding,
  encodeTuple,
  formatIPv6,
  IpProtocol,
  parseIPv4,
  parseIPv6,
  PORT_BINDING_SIZE,
  type ConnTupleInput,
} from '../src/index.js';
import { buildDir, compileHost, PKG } from './helpers.js';

let oracle: { hex: string; text: string }[];

beforeAll(() => {
  const bin = compileHost(join(PKG, 'test', 'c', 'golden.c'), join(buildDir('encode'), 'golden'));
  oracle = (JSON.parse(execFileSync(bin, { encoding: 'utf8' })) as { ipv6: { hex: string; text: string }[] }).ipv6;
});

const v4: ConnTupleInput = { source: '10.1.2.3', sport: 53, dest: '192.168.200.254', dport: 40000, netns: 4026531840, pid: 4242, type: 'UDP' };

describe('parseIPv4 / parseIPv6', () => {
  it('parse what inet_ntop wrote to the bytes inet_pton read (2000+ addresses, every form glibc writes)', () => {
    expect(oracle.length).toBeGreaterThan(2000);
    for (const { hex, text } of oracle) {
      expect(Buffer.from(parseIPv6(text)).toString('hex'), text).toBe(hex);
      expect(Buffer.from(parseIPv6(text.toUpperCase())).toString('hex'), text).toBe(hex);
      // Our own text too (IPv4-mapped addresses are shown as IPv4: parse them back mapped).
      const ours = formatIPv6(Buffer.from(hex, 'hex'));
      expect(Buffer.from(parseIPv6(ours.includes(':') ? ours : `::ffff:${ours}`)).toString('hex'), ours).toBe(hex);
    }
  });

  it('accept the uncompressed and edge forms, refuse everything else', () => {
    expect(Buffer.from(parseIPv6('1:2:3:4:5:6:7::')).toString('hex')).toBe('0001000200030004000500060007' + '0000');
    expect(Buffer.from(parseIPv6('::2:3:4:5:6:7:8')).toString('hex')).toBe('0000000200030004000500060007' + '0008');
    expect(Buffer.from(parseIPv6('0:0:0:0:0:ffff:1.2.3.4')).toString('hex')).toBe('00000000000000000000ffff01020304');
    expect([...parseIPv4('255.0.10.1')]).toEqual([255, 0, 10, 1]);
    for (const bad of ['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '12345::', 'g::', '::1:', ':1::2', '1.2.3.4::', '::1.2.3', 'fe80::1%eth0', '[::1]', ' ::1', '1:2:3:4:5:6:7']) {
      expect(() => parseIPv6(bad), bad).toThrow(RangeError);
    }
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', '1..2.3', '0x1.2.3.4', '::1', '1.2.3.4 ']) {
      expect(() => parseIPv4(bad), bad).toThrow(RangeError);
    }
    expect(() => parseIPv4('1.2.3')).toThrow('parseIPv4: "1.2.3" is not an IPv4 address');
    expect(() => parseIPv6(42 as unknown as string)).toThrow('parseIPv6: 42 is not an IPv6 address');
  });
});

describe('encodeTuple', () => {
  it('writes every field where the table says, the rest zero', () => {
    const b = encodeTuple({ ...v4, pid: 0xfffffffe, netns: 0x80000001, sport: 0xffff });
    expect(b).toBeInstanceOf(Buffer);
    expect(b.length).toBe(CONN_TUPLE_SIZE);
    const F = abi.structs.conn_tuple.fields;
    expect(b.readUInt16LE(F.sport.offset)).toBe(0xffff);
    expect(b.readUInt16LE(F.dport.offset)).toBe(40000);
    expect(b.readUInt32LE(F.netns.offset)).toBe(0x80000001);
    expect(b.readUInt32LE(F.pid.offset)).toBe(0xfffffffe);
    expect(b.readUInt32LE(F.metadata.offset)).toBe(ConnTypeBit.UDP | ConnFamilyBit.V4);
    expect([...b.subarray(F.saddr_l.offset, F.saddr_l.offset + 8)]).toEqual([10, 1, 2, 3, 0, 0, 0, 0]);
    expect(b.readBigUInt64LE(F.saddr_h.offset)).toBe(0n);
    expect(b.readBigUInt64LE(F.daddr_h.offset)).toBe(0n);
    expect(decodeTuple(b).toObject()).toMatchObject({ ...v4, pid: 0xfffffffe, netns: 0x80000001, sport: 0xffff, family: 'v4', metadata: 0 });
    expect(b.buffer.byteLength).toBe(CONN_TUPLE_SIZE); // its own memory, not a slice of a shared pool
  });

  it('takes the type and family from metadata, or from type/family, and refuses a mismatch', () => {
    const tcp6 = { source: '2001:db8::1', sport: 1, dest: '::1', dport: 2, netns: 3, pid: 4 };
    const md = ConnTypeBit.TCP | ConnFamilyBit.V6;
    const a = encodeTuple({ ...tcp6, type: 'TCP' }); // v6 inferred from the text
    expect(a.equals(encodeTuple({ ...tcp6, metadata: md }))).toBe(true);
    expect(a.equals(encodeTuple({ ...tcp6, metadata: md, type: 'TCP', family: 'v6' }))).toBe(true);
    expect(decodeTuple(a).toString()).toBe('[TCPv6] [PID: 4] [[2001:db8::1]:1 ⇄ [::1]:2] (ns: 3)');
    // IPv4 text in a v6 tuple is IPv4-mapped, and decodes to the same text.
    const mapped = encodeTuple({ ...v4, type: 'TCP', family: 'v6' });
    expect(mapped.subarray(0, 16).toString('hex')).toBe('00000000000000000000ffff0a010203');
    expect(decodeTuple(mapped).toObject()).toMatchObject({ source: v4.source, dest: v4.dest, family: 'v6', type: 'TCP' });
    expect(() => encodeTuple({ ...tcp6, metadata: md, type: 'UDP' })).toThrow('encodeTuple: metadata 3 is TCPv6, not UDP');
    expect(() => encodeTuple({ ...tcp6, metadata: md, family: 'v4' })).toThrow(RangeError);
    expect(() => encodeTuple({ ...tcp6 })).toThrow('encodeTuple: give metadata or type');
    expect(() => encodeTuple({ ...tcp6, type: 0 as unknown as 'TCP' })).toThrow(TypeError);
    expect(() => encodeTuple({ ...tcp6, type: 'TCP', family: 'v5' as 'v6' })).toThrow(TypeError);
    expect(() => encodeTuple({ ...tcp6, type: 'TCP', family: 'v4' })).toThrow('encodeTuple: source "2001:db8::1" is not an IPv4 address (the tuple is v4)');
  });

  it('refuses a value that does not fit its field, and bad address text', () => {
    const cases: [Partial<ConnTupleInput>, RegExp][] = [
      [{ sport: 65536 }, /encodeTuple: sport 65536 is not a u16 \(an integer 0\.\.65535\)/],
      [{ dport: -1 }, /dport -1 is not a u16/],
      [{ netns: 2 ** 32 }, /netns 4294967296 is not a u32/],
      [{ pid: 1.5 }, /pid 1.5 is not a u32/],
      [{ pid: '42' as unknown as number }, /pid "42" is not a u32/],
      [{ metadata: -1, type: undefined }, /metadata -1 is not a u32/],
      [{ source: '10.0.0.256' }, /source "10.0.0.256" is not an IPv4 address/],
      [{ dest: 'localhost' }, /dest "localhost" is not an IPv4 address/],
    ];
    for (const [patch, msg] of cases) expect(() => encodeTuple({ ...v4, ...patch }), msg.source).toThrow(msg);
    expect(() => encodeTuple({ ...v4, family: 'v6', source: 'fe80::1::2' })).toThrow(/parseIPv6: "fe80::1::2"/);
  });
});

describe('encodePortBinding', () => {
  it('writes netns, port and protocol where the table says, the padding zero', () => {
    const b = encodePortBinding({ netns: 0xffffffff, port: 0xffff, protocol: IpProtocol.UDP });
    expect(b.length).toBe(PORT_BINDING_SIZE);
    const F = abi.structs.port_binding.fields;
    expect([b.readUInt32LE(F.netns.offset), b.readUInt16LE(F.port.offset), b[F.protocol.offset], b[F._pad0.offset]]).toEqual([0xffffffff, 0xffff, 17, 0]);
    expect(decodePortBinding(b).toObject()).toEqual({ netns: 0xffffffff, port: 0xffff, protocol: IpProtocol.UDP });
    expect(encodePortBinding({ netns: 1, port: 0, protocol: IpProtocol.TCP }).toString('hex')).toBe('0100000000000600');
  });

  it('refuses a protocol other than TCP/UDP and values out of range', () => {
    expect(() => encodePortBinding({ netns: 1, port: 80, protocol: 1 as 6 })).toThrow('encodePortBinding: protocol 1 is not IpProtocol.TCP (6) or IpProtocol.UDP (17)');
    expect(() => encodePortBinding({ netns: 1, port: 80, protocol: 'TCP' as unknown as 6 })).toThrow(RangeError);
    expect(() => encodePortBinding({ netns: 1, port: 70000, protocol: 6 })).toThrow('encodePortBinding: port 70000 is not a u16 (an integer 0..65535)');
    expect(() => encodePortBinding({ netns: -1, port: 80, protocol: 17 })).toThrow(/netns -1 is not a u32/);
  });
});
