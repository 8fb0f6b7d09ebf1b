// struct conn_tuple: one connection (the key of the per-connection maps).
import { ipv4FromWord, ipv6FromWords } from './address.js';
import {
  ConnFamilyBit,
  ConnTypeBit,
  connectionFamily,
  connectionFamilyName,
  connectionType,
  connectionTypeName,
  type ConnectionFamily,
  type ConnectionType,
} from './enums.js';
import { structs } from './layout.gen.js';
import { recordClass, type RecordMethods } from './record.js';
import { alignedCopy, locate, slot, u64, words } from './view.js';

const L = structs.conn_tuple;
const F = L.fields;
/** sizeof(struct conn_tuple). */
export const CONN_TUPLE_SIZE = L.size;
const SADDR_H = slot('conn_tuple.saddr_h', F.saddr_h).word;
const SADDR_L = slot('conn_tuple.saddr_l', F.saddr_l).word;
const DADDR_H = slot('conn_tuple.daddr_h', F.daddr_h).word;
const DADDR_L = slot('conn_tuple.daddr_l', F.daddr_l).word;
const SPORT = slot('conn_tuple.sport', F.sport);
const DPORT = slot('conn_tuple.dport', F.dport);
const NETNS = slot('conn_tuple.netns', F.netns).word;
const PID = slot('conn_tuple.pid', F.pid).word;
const METADATA = slot('conn_tuple.metadata', F.metadata).word;

/** A decoded struct conn_tuple (a view: see AbiRecord). */
export class ConnTuple {
  // `declare`: no class-field definitions (define semantics cost more than decoding a tuple on Node 20).
  private declare readonly w: Int32Array;
  private declare readonly i: number;

  /** @internal Use decodeTuple(). */
  constructor(words: Int32Array, index: number) {
    this.w = words;
    this.i = index;
  }

  private word(k: number): number {
    return this.w[this.i + k] as number;
  }

  get byteLength(): number {
    return CONN_TUPLE_SIZE;
  }

  /** Source (local) port, host order. */
  get sport(): number {
    return (this.word(SPORT.word) >>> SPORT.shift) & 0xffff;
  }

  /** Destination (remote) port, host order. */
  get dport(): number {
    return (this.word(DPORT.word) >>> DPORT.shift) & 0xffff;
  }

  /** Network namespace inode number. */
  get netns(): number {
    return this.word(NETNS) >>> 0;
  }

  /** Process id (tgid, in the tracer's pid namespace); 0 in tcp_stats keys and while ConnFlags.NO_PID is set. */
  get pid(): number {
    return this.word(PID) >>> 0;
  }

  /** Kernel bits: ConnTypeBit | ConnFamilyBit. */
  get metadata(): number {
    return this.word(METADATA) >>> 0;
  }

  /** Userspace connection type (ConnectionType.TCP = 0, UDP = 1). */
  get type(): ConnectionType {
    return connectionType(this.word(METADATA));
  }

  /** Userspace family (ConnectionFamily.AFINET = 0, AFINET6 = 1). */
  get family(): ConnectionFamily {
    return connectionFamily(this.word(METADATA));
  }

  get isTcp(): boolean {
    return (this.word(METADATA) & ConnTypeBit.MASK) === ConnTypeBit.TCP;
  }

  get isIPv6(): boolean {
    return (this.word(METADATA) & ConnFamilyBit.MASK) === ConnFamilyBit.V6;
  }

  #address(h: number, l: number): string {
    return this.isIPv6 ? ipv6FromWords(this.word(h), this.word(h + 1), this.word(l), this.word(l + 1)) : ipv4FromWord(this.word(l));
  }

  /** Source address as text (RFC 5952 for IPv6; IPv4-mapped IPv6 shown as IPv4). */
  get source(): string {
    return this.#address(SADDR_H, SADDR_L);
  }

  /** Destination address as text. */
  get dest(): string {
    return this.#address(DADDR_H, DADDR_L);
  }

  /** 'addr:port', with brackets around an IPv6 address. */
  get sourceEndpoint(): string {
    return endpoint(this.source, this.sport);
  }

  get destEndpoint(): string {
    return endpoint(this.dest, this.dport);
  }

  /** The raw address halves, exactly as the kernel stored them. */
  get saddrH(): bigint {
    return u64(this.word(SADDR_H), this.word(SADDR_H + 1));
  }
  get saddrL(): bigint {
    return u64(this.word(SADDR_L), this.word(SADDR_L + 1));
  }
  get daddrH(): bigint {
    return u64(this.word(DADDR_H), this.word(DADDR_H + 1));
  }
  get daddrL(): bigint {
    return u64(this.word(DADDR_L), this.word(DADDR_L + 1));
  }

  /** The seed's format: `[TCPv4] [PID: 42] [10.0.0.1:80 ⇄ 10.0.0.2:5000] (ns: 4026531840)`. */
  toString(): string {
    return `[${connectionTypeName(this.type)}${connectionFamilyName(this.family)}] [PID: ${this.pid}] [${this.sourceEndpoint} ⇄ ${this.destEndpoint}] (ns: ${this.netns})`;
  }

  toObject(): ConnTupleObject {
    return {
      type: connectionTypeName(this.type),
      family: connectionFamilyName(this.family),
      source: this.source,
      sport: this.sport,
      dest: this.dest,
      dport: this.dport,
      netns: this.netns,
      pid: this.pid,
      metadata: this.metadata,
    };
  }

  toJSON(): ConnTupleObject {
    return this.toObject();
  }
}

export interface ConnTuple extends RecordMethods {}
recordClass(ConnTuple);

export interface ConnTupleObject {
  type: 'TCP' | 'UDP';
  family: 'v4' | 'v6';
  source: string;
  sport: number;
  dest: string;
  dport: number;
  netns: number;
  pid: number;
  metadata: number;
}

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Decode a struct conn_tuple at `offset` of `buf` (48 bytes). */
export function decodeTuple(buf: Uint8Array, offset = 0): ConnTuple {
  const i = locate('conn_tuple', buf, offset, CONN_TUPLE_SIZE);
  return i >= 0 ? new ConnTuple(words(), i) : new ConnTuple(alignedCopy(buf, offset, CONN_TUPLE_SIZE), 0);
}
