// Where nettop writes: the process's streams in the CLI, fakes in tests.

export interface Output {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface Io {
  stdout: Output;
  stderr: Output;
  env: Readonly<Record<string, string | undefined>>;
}

/** One line on stderr, `nettop: <message>`. */
export function say(io: Io, message: string): void {
  io.stderr.write(`nettop: ${message}\n`);
}
