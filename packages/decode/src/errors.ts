/** Why a buffer could not be decoded. */
export type DecodeFailure = 'short' | 'malformed';

export interface DecodeErrorFields {
  /** The ABI struct being decoded ('conn', 'batch', ...). */
  readonly struct: string;
  readonly reason: DecodeFailure;
  /** Byte offset of the struct in the buffer. */
  readonly offset: number;
  /** Bytes the decode needs (for 'short': offset + struct size). */
  readonly needed: number;
  /** Bytes there are (for 'short': the buffer's length). */
  readonly available: number;
}

/** A buffer too short for the record asked for, a bad offset, or a record whose content is impossible (a batch longer than its slots). */
export class DecodeError extends Error implements DecodeErrorFields {
  override readonly name = 'DecodeError';
  readonly struct: string;
  readonly reason: DecodeFailure;
  readonly offset: number;
  readonly needed: number;
  readonly available: number;

  constructor(message: string, fields: DecodeErrorFields) {
    super(message);
    this.struct = fields.struct;
    this.reason = fields.reason;
    this.offset = fields.offset;
    this.needed = fields.needed;
    this.available = fields.available;
  }
}

/** The error for `size` bytes of `struct` at `offset` in a buffer of `length` bytes. */
export function shortBuffer(struct: string, length: number, offset: number, size: number): DecodeError {
  const fields = { struct, reason: 'short' as const, offset, needed: offset + size, available: length };
  if (!Number.isInteger(offset) || offset < 0) {
    return new DecodeError(`decode ${struct}: offset ${offset} is not a non-negative integer (buffer of ${length} bytes)`, { ...fields, needed: size });
  }
  return new DecodeError(
    `decode ${struct}: needs ${offset + size} bytes (${size} at offset ${offset}), ${length} available`,
    fields,
  );
}
