// Errors of offset guessing: a code to branch on, and for a field that could
// not be settled, the field and what was seen of it.

export type GuessErrorCode =
  /** More than one offset fits everything seen. */
  | 'ERR_GUESS_AMBIGUOUS'
  /** No offset in the field's window fits what was seen. */
  | 'ERR_GUESS_NOT_FOUND'
  /** The offset found did not hold on the fresh connection of the last check. */
  | 'ERR_GUESS_VERIFY'
  /** This kernel lacks what guessing needs (a tracepoint, the pid namespace helper). */
  | 'ERR_GUESS_UNSUPPORTED'
  /** A hook did not fire for the guesser's own call. */
  | 'ERR_GUESS_NO_CAPTURE'
  /** A socket of the guesser could not be brought into the state it needs. */
  | 'ERR_GUESS_SOCKET'
  /** Bad input (an option). */
  | 'ERR_GUESS_OPTION'
  /** The guess programs were closed. */
  | 'ERR_GUESS_CLOSED';

export class GuessError extends Error {
  override name = 'GuessError';
  readonly code: GuessErrorCode;
  /** The SockOffsets field concerned, if one. */
  readonly field: string | undefined;
  /** What was seen: the candidates left, or the values read. */
  readonly seen: string | undefined;

  constructor(code: GuessErrorCode, message: string, seen?: string, field?: string, options?: ErrorOptions) {
    super(seen ? `${message} (seen: ${seen})` : message, options);
    this.code = code;
    this.field = field;
    this.seen = seen;
  }
}
