// Colour only on a terminal and never with NO_COLOR (https://no-color.org).

export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  inverse(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;

export const ANSI: Colors = { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), inverse: sgr(7, 27) };
const id = (s: string): string => s;
export const PLAIN: Colors = { bold: id, dim: id, red: id, green: id, inverse: id };

/** Any NO_COLOR value, even empty, turns colour off (no-color.org). */
export function wantColor(isTTY: boolean | undefined, env: Readonly<Record<string, string | undefined>>): boolean {
  return isTTY === true && env.NO_COLOR === undefined;
}

export function colors(on: boolean): Colors {
  return on ? ANSI : PLAIN;
}
