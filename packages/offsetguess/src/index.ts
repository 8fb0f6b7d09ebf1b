export type { BitField, OffsetField, OffsetSource, SockOffsets } from './sock-offsets.js';
export { HOOK_FIELDS, IPV6_FIELDS, OFFSET_FIELDS } from './sock-offsets.js';
export { offsetsFromBtf, OffsetsError } from './from-btf.js';
export { GuessError, type GuessErrorCode } from './errors.js';
export { guessOffsets, guessOffsetsDetailed, type GuessedField, type GuessOptions, type GuessResult } from './guess.js';
export { samplesFromJson, samplesToJson, type ArgSample, type Samples, type SockSample } from './samples.js';
export { decide, searchAll, verify } from './decide.js';
export { WINDOWS } from './search.js';
export { compareOffsets, explain, resolveOffsets, type FieldExplanation, type OffsetDifference, type ResolvedOffsets, type ResolveOptions, type ResolveSource } from './resolve.js';
