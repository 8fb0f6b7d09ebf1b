export type { BitField, OffsetSource, SockOffsets } from './sock-offsets.js';
export { offsetsFromBtf, OffsetsError } from './from-btf.js';
