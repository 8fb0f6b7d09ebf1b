// struct port_binding: a listening TCP port or bound UDP port in one network
// namespace (the key of the port bindings map). Its encoder is in encode.ts.
import type { IpProtocol } from './enums.js';
import { structs } from './layout.gen.js';
import { recordClass, type RecordMethods } from './record.js';
import { alignedCopy, locate, slot, words } from './view.js';

const L = structs.port_binding;
const F = L.fields;
/** sizeof(struct port_binding). */
export const PORT_BINDING_SIZE = L.size;
const NETNS = slot('port_binding.netns', F.netns).word;
const PORT = slot('port_binding.port', F.port);
const PROTOCOL = slot('port_binding.protocol', F.protocol);

/** A decoded struct port_binding (a view: see AbiRecord). */
export class PortBinding {
  // `declare`: no class-field definitions (see ConnTuple).
  private declare readonly w: Int32Array;
  private declare readonly i: number;

  /** @internal Use decodePortBinding(). */
  constructor(words: Int32Array, index: number) {
    this.w = words;
    this.i = index;
  }

  private word(k: number): number {
    return this.w[this.i + k] as number;
  }

  get byteLength(): number {
    return PORT_BINDING_SIZE;
  }

  /** Network namespace inode number. */
  get netns(): number {
    return this.word(NETNS) >>> 0;
  }

  /** The bound port, host order. */
  get port(): number {
    return (this.word(PORT.word) >>> PORT.shift) & 0xffff;
  }

  /** IpProtocol.TCP (6) or IpProtocol.UDP (17). */
  get protocol(): IpProtocol {
    return ((this.word(PROTOCOL.word) >>> PROTOCOL.shift) & 0xff) as IpProtocol;
  }

  toObject(): PortBindingObject {
    return { netns: this.netns, port: this.port, protocol: this.protocol };
  }

  toJSON(): PortBindingObject {
    return this.toObject();
  }
}

export interface PortBinding extends RecordMethods {}
recordClass(PortBinding);

export interface PortBindingObject {
  netns: number;
  port: number;
  protocol: IpProtocol;
}

/** Decode a struct port_binding at `offset` of `buf` (8 bytes). */
export function decodePortBinding(buf: Uint8Array, offset = 0): PortBinding {
  const i = locate('port_binding', buf, offset, PORT_BINDING_SIZE);
  return i >= 0 ? new PortBinding(words(), i) : new PortBinding(alignedCopy(buf, offset, PORT_BINDING_SIZE), 0);
}
