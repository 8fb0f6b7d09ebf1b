// IP address formatting from the raw network-order bytes the kernel stores.
// IPv4 is dotted decimal; IPv6 follows RFC 5952 (lowercase, longest run of
// zero groups as '::'); IPv4-mapped IPv6 (::ffff:a.b.c.d) is shown as IPv4.
// Text of 16-bit values, each made on first use (the tables too, 512 KiB
// each): "a.b" for two IPv4 bytes (index b0 | b1 << 8), and an IPv6 group in
// lowercase hex. Half the cost of building the text from single bytes.
let v4Halves: (string | undefined)[] | undefined;
let hexGroups: (string | undefined)[] | undefined;
const groups = new Int32Array(8);

function v4Half(x: number): string {
  const t = (v4Halves ??= new Array<string | undefined>(65536).fill(undefined));
  return (t[x] ??= `${x & 0xff}.${x >>> 8}`);
}

function hex(x: number): string {
  const t = (hexGroups ??= new Array<string | undefined>(65536).fill(undefined));
  return (t[x] ??= x.toString(16));
}

/** A little-endian 32-bit word holding 4 wire-order address bytes, as dotted decimal. */
export function ipv4FromWord(w: number): string {
  return `${v4Half(w & 0xffff)}.${v4Half(w >>> 16)}`;
}

/** 16 wire-order bytes given as 4 little-endian 32-bit words, as RFC 5952 text (IPv4-mapped as IPv4). */
export function ipv6FromWords(w0: number, w1: number, w2: number, w3: number): string {
  if (w0 === 0 && w1 === 0 && w2 >>> 0 === 0xffff0000) return ipv4FromWord(w3);
  const g = groups;
  // Group 2k is bytes 0,1 of word k (big-endian on the wire), group 2k+1 bytes 2,3.
  g[0] = ((w0 & 0xff) << 8) | ((w0 >>> 8) & 0xff);
  g[1] = ((w0 >>> 8) & 0xff00) | (w0 >>> 24);
  g[2] = ((w1 & 0xff) << 8) | ((w1 >>> 8) & 0xff);
  g[3] = ((w1 >>> 8) & 0xff00) | (w1 >>> 24);
  g[4] = ((w2 & 0xff) << 8) | ((w2 >>> 8) & 0xff);
  g[5] = ((w2 >>> 8) & 0xff00) | (w2 >>> 24);
  g[6] = ((w3 & 0xff) << 8) | ((w3 >>> 8) & 0xff);
  g[7] = ((w3 >>> 8) & 0xff00) | (w3 >>> 24);
  // The longest run of at least two zero groups, the first one on a tie.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (i !== 0 && i !== bestAt + bestLen) s += ':';
    s += hex(g[i] as number);
  }
  return s;
}

function word(b: ArrayLike<number>, i: number): number {
  return ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24)) >>> 0;
}

function expectLength(b: ArrayLike<number>, n: number, what: string): void {
  if (b.length !== n) throw new RangeError(`${what} needs ${n} bytes, got ${b.length}`);
}

/** 4 wire-order bytes as dotted decimal. */
export function formatIPv4(bytes: ArrayLike<number>): string {
  expectLength(bytes, 4, 'formatIPv4');
  return ipv4FromWord(word(bytes, 0));
}

/** 16 wire-order bytes as RFC 5952 text; IPv4-mapped addresses (::ffff:a.b.c.d) as IPv4. */
export function formatIPv6(bytes: ArrayLike<number>): string {
  expectLength(bytes, 16, 'formatIPv6');
  return ipv6FromWords(word(bytes, 0), word(bytes, 4), word(bytes, 8), word(bytes, 12));
}

/**
 * An address from a tuple's halves (saddr_h/saddr_l or daddr_h/daddr_l):
 * for IPv6 the 16 bytes are h then l, each little-endian; for IPv4 the 4
 * bytes are the low 32 bits of l.
 */
export function formatAddress(h: bigint, l: bigint, v6: boolean): string {
  const lw = (x: bigint, shift: bigint): number => Number((x >> shift) & 0xffffffffn);
  if (!v6) return ipv4FromWord(lw(l, 0n));
  return ipv6FromWords(lw(h, 0n), lw(h, 32n), lw(l, 0n), lw(l, 32n));
}

function badAddress(what: string, text: unknown): RangeError {
  return new RangeError(`${what}: ${JSON.stringify(text)} is not an ${what === 'parseIPv4' ? 'IPv4' : 'IPv6'} address`);
}

function ipv4Bytes(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    // Dotted decimal only, as inet_pton: 1 to 3 digits, no leading zero, at most 255.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

/** Dotted decimal IPv4 text (as inet_pton accepts it) as its 4 wire-order bytes; RangeError otherwise. */
export function parseIPv4(text: string): Uint8Array {
  const b = typeof text === 'string' ? ipv4Bytes(text) : undefined;
  if (!b) throw badAddress('parseIPv4', text);
  return b;
}

/** 16-bit groups of one side of '::' (the last one may be dotted IPv4, two groups), or undefined. */
function ipv6Groups(s: string, v4Last: boolean): number[] | undefined {
  if (s === '') return [];
  const items = s.split(':');
  const groups: number[] = [];
  for (let k = 0; k < items.length; k++) {
    const it = items[k] as string;
    if (v4Last && k === items.length - 1 && it.includes('.')) {
      const b = ipv4Bytes(it);
      if (!b) return undefined;
      groups.push(((b[0] as number) << 8) | (b[1] as number), ((b[2] as number) << 8) | (b[3] as number));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(it)) groups.push(parseInt(it, 16));
    else return undefined;
  }
  return groups;
}

/**
 * IPv6 text (RFC 4291: hex groups, one '::', a trailing dotted IPv4 part; as
 * inet_pton accepts it, no zone) as its 16 wire-order bytes; RangeError
 * otherwise.
 */
export function parseIPv6(text: string): Uint8Array {
  if (typeof text !== 'string') throw badAddress('parseIPv6', text);
  const dbl = text.indexOf('::');
  let groups: number[] | undefined;
  if (dbl < 0) {
    groups = ipv6Groups(text, true);
    if (groups && groups.length !== 8) groups = undefined;
  } else if (text.indexOf('::', dbl + 1) < 0) {
    const head = ipv6Groups(text.slice(0, dbl), false);
    const tail = ipv6Groups(text.slice(dbl + 2), true);
    // '::' stands for at least one zero group.
    if (head && tail && head.length + tail.length <= 7) groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  if (!groups) throw badAddress('parseIPv6', text);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}
