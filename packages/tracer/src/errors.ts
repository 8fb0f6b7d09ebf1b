/** A tracer failure that is not a loader error: bad option, missing kernel feature, corrupt record. */
export class TracerError extends Error {
  override name = 'TracerError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
