// Encoders for the records userspace writes: map keys (a struct conn_tuple to
// delete, a struct port_binding to seed). Offsets and widths come from the
// layout table, and every key starts zeroed (header rule 4: padding bytes
// never split one key into several entries).
import { parseIPv4, parseIPv6 } from './address.js';
import { ConnFamilyBit, ConnTypeBit, IpProtocol } from './enums.js';
import type { ScalarField } from './layout-types.js';
import { structs } from './layout.gen.js';
import type { PortBindingObject } from './port-binding.js';

const MAX: Partial<Record<ScalarField['type'], number>> = { u8: 0xff, u16: 0xffff, u32: 0xffffffff };

/** Write the number `v` into scalar field `f` of the record `dv` holds, checking it fits. */
function put(dv: DataView, where: string, f: ScalarField, v: unknown): void {
  const max = MAX[f.type];
  if (max === undefined) throw new Error(`@tracer-bpf/decode: ${where} is a ${f.type}, not encodable from a number`);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${where} ${typeof v === 'string' ? JSON.stringify(v) : String(v)} is not a ${f.type} (an integer 0..${max})`);
  }
  if (f.type === 'u8') dv.setUint8(f.offset, v);
  else if (f.type === 'u16') dv.setUint16(f.offset, v, true);
  else dv.setUint32(f.offset, v, true);
}

function zeroed(size: number): { buf: Buffer; dv: DataView } {
  const buf = Buffer.alloc(size); // zero-filled, its own ArrayBuffer
  return { buf, dv: new DataView(buf.buffer, buf.byteOffset, size) };
}

// ---------------------------------------------------------------- conn_tuple

/** What encodeTuple needs: a ConnTupleObject (ConnTuple#toObject()) is one. */
export interface ConnTupleInput {
  /** Address text: IPv4 dotted decimal, or IPv6 for a v6 tuple (IPv4 text in a v6 tuple is written IPv4-mapped, ::ffff:a.b.c.d). */
  readonly source: string;
  readonly sport: number;
  readonly dest: string;
  readonly dport: number;
  readonly netns: number;
  readonly pid: number;
  /** Kernel bits (ConnTypeBit | ConnFamilyBit). Give it, or `type` (and `family`), or both when they agree. */
  readonly metadata?: number | undefined;
  readonly type?: 'TCP' | 'UDP' | undefined;
  /** Default: 'v6' when an address is IPv6 text, else 'v4'. */
  readonly family?: 'v4' | 'v6' | undefined;
}

const T = structs.conn_tuple;
const TF = T.fields;

function tupleMetadata(t: ConnTupleInput): number {
  const { metadata, type, family } = t;
  if (type !== undefined && type !== 'TCP' && type !== 'UDP') throw new TypeError(`encodeTuple: type ${String(type)} is not 'TCP' or 'UDP'`);
  if (family !== undefined && family !== 'v4' && family !== 'v6') throw new TypeError(`encodeTuple: family ${String(family)} is not 'v4' or 'v6'`);
  if (metadata === undefined) {
    if (type === undefined) throw new TypeError('encodeTuple: give metadata or type');
    const v6 = family === undefined ? t.source.includes(':') || t.dest.includes(':') : family === 'v6';
    return (type === 'TCP' ? ConnTypeBit.TCP : ConnTypeBit.UDP) | (v6 ? ConnFamilyBit.V6 : ConnFamilyBit.V4);
  }
  const isTcp = (metadata & ConnTypeBit.MASK) === ConnTypeBit.TCP;
  const isV6 = (metadata & ConnFamilyBit.MASK) === ConnFamilyBit.V6;
  if ((type !== undefined && (type === 'TCP') !== isTcp) || (family !== undefined && (family === 'v6') !== isV6)) {
    throw new RangeError(`encodeTuple: metadata ${metadata} is ${isTcp ? 'TCP' : 'UDP'}${isV6 ? 'v6' : 'v4'}, not ${type ?? ''}${family ?? ''}`);
  }
  return metadata;
}

/** An address's bytes: 4 for a v4 tuple, 16 for a v6 tuple (IPv4 text as ::ffff:a.b.c.d). */
function addressBytes(text: string, v6: boolean, where: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`encodeTuple: ${where} is not a string`);
  if (!v6) {
    try {
      return parseIPv4(text);
    } catch {
      throw new RangeError(`encodeTuple: ${where} ${JSON.stringify(text)} is not an IPv4 address (the tuple is v4)`);
    }
  }
  if (!text.includes(':')) {
    const mapped = new Uint8Array(16);
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped.set(parseIPv4(text), 12);
    return mapped;
  }
  return parseIPv6(text);
}

function putAddress(buf: Buffer, h: ScalarField, l: ScalarField, b: Uint8Array): void {
  // IPv6: 16 wire-order bytes over h (bytes 0..7) then l (8..15); IPv4: the low 32 bits of l.
  if (b.length === 16) {
    buf.set(b.subarray(0, 8), h.offset);
    buf.set(b.subarray(8), l.offset);
  } else buf.set(b, l.offset);
}

/**
 * A struct conn_tuple (48 bytes, zeroed then filled), e.g. a key to delete
 * from a per-connection map. The inverse of decodeTuple(buf).toObject().
 * Throws RangeError/TypeError on a value that does not fit its field or an
 * address that does not parse.
 */
export function encodeTuple(t: ConnTupleInput): Buffer {
  const metadata = tupleMetadata(t);
  const v6 = (metadata & ConnFamilyBit.MASK) === ConnFamilyBit.V6;
  const { buf, dv } = zeroed(T.size);
  putAddress(buf, TF.saddr_h, TF.saddr_l, addressBytes(t.source, v6, 'source'));
  putAddress(buf, TF.daddr_h, TF.daddr_l, addressBytes(t.dest, v6, 'dest'));
  put(dv, 'encodeTuple: sport', TF.sport, t.sport);
  put(dv, 'encodeTuple: dport', TF.dport, t.dport);
  put(dv, 'encodeTuple: netns', TF.netns, t.netns);
  put(dv, 'encodeTuple: pid', TF.pid, t.pid);
  put(dv, 'encodeTuple: metadata', TF.metadata, metadata);
  return buf;
}

// ---------------------------------------------------------------- port_binding

/** What encodePortBinding needs: a PortBindingObject (PortBinding#toObject()) is one. */
export type PortBindingInput = Readonly<PortBindingObject>;

const P = structs.port_binding;
const PF = P.fields;

/** A struct port_binding (8 bytes, zeroed then filled): a key of the port bindings map. Protocol is IpProtocol.TCP or IpProtocol.UDP. */
export function encodePortBinding(p: PortBindingInput): Buffer {
  if (p.protocol !== IpProtocol.TCP && p.protocol !== IpProtocol.UDP) {
    throw new RangeError(`encodePortBinding: protocol ${String(p.protocol)} is not IpProtocol.TCP (6) or IpProtocol.UDP (17)`);
  }
  const { buf, dv } = zeroed(P.size);
  put(dv, 'encodePortBinding: netns', PF.netns, p.netns);
  put(dv, 'encodePortBinding: port', PF.port, p.port);
  put(dv, 'encodePortBinding: protocol', PF.protocol, p.protocol);
  return buf;
}
