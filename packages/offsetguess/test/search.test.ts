// The search without a kernel or root: captures recorded by the kernel test
// (test/fixtures/*.json.gz: what one guess captured and knew on the host and
// in the guests of tools/vmtest, with that kernel's BTF offsets) searched
// again, and the ways it must fail: never a wrong offset.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compareOffsets, decide, GuessError, HOOK_FIELDS, IPV6_FIELDS, type OffsetField, type Samples, samplesFromJson, samplesToJson, searchAll, type SockOffsets, verify } from '../src/index.js';
import { fieldError, toOffsets, unavailableFields } from '../src/decide.js';

interface Fixture {
  kernel: string;
  ipv6Disabled: boolean;
  btf: SockOffsets;
  samples: Samples;
  fresh: Samples;
}

const dir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json.gz'));
const load = (f: string): Fixture => samplesFromJson(gunzipSync(readFileSync(join(dir, f))).toString('utf8')) as unknown as Fixture;

/** What a kernel could not show in its recording: the hook fields without kprobe captures, IPv6 without IPv6. */
function lacking(fx: Fixture): Map<OffsetField, string> {
  const noKprobes = fx.samples.args.length === 0 ? 'no kprobes when recorded' : undefined;
  return unavailableFields(noKprobes, fx.ipv6Disabled ? 'no IPv6 when recorded' : undefined);
}

describe.each(files)('recorded guess %s', (file) => {
  const fx = load(file);

  it('comes down to exactly the BTF offsets, every field, and they hold on the fresh sockets', () => {
    const d = decide(searchAll(fx.samples), lacking(fx));
    expect(d.none.map((c) => c.field)).toEqual([]);
    expect(d.ambiguous.map((c) => c.field)).toEqual([]);
    const got = toOffsets(d.settled, d.unavailable);
    expect(compareOffsets(fx.btf, got).filter((x) => x.guess !== undefined)).toEqual([]);
    expect(verify(d.settled, fx.fresh)).toEqual([]);
  });

  it('round-trips through JSON', () => {
    expect(samplesFromJson(samplesToJson(fx.samples))).toEqual(fx.samples);
  });
});

describe('the ways a search fails (one of the recordings)', () => {
  const fx = load(files.find((f) => !f.includes('noipv6'))!);
  const clone = (s: Samples): Samples => samplesFromJson(samplesToJson(s));

  it('without the TCP_REPAIR captures, snd_una is ambiguous: an error naming the field, its window and the candidates', () => {
    const s = clone(fx.samples);
    s.socks = s.socks.filter((x) => !/TCP_REPAIR|retransmit/.test(x.label));
    const d = decide(searchAll(s), lacking(fx));
    const c = d.ambiguous.find((x) => x.field === 'tcpSndUna');
    expect(c?.candidates).toContain(fx.btf.tcpSndUna);
    const e = fieldError(c!);
    expect(e).toBeInstanceOf(GuessError);
    expect(e.code).toBe('ERR_GUESS_AMBIGUOUS');
    expect(e.field).toBe('tcpSndUna');
    expect(e.message).toMatch(/^offset guessing: tcpSndUna: \d+ offsets in \[256, 4096\) fit all \d+ captures .*\(seen: candidates \d+(, \d+)+\)$/);
    // and nothing it settled is wrong
    expect(compareOffsets(fx.btf, toOffsets(d.settled, new Map())).filter((x) => x.guess !== undefined)).toEqual([]);
  });

  it('sk_buff: header offsets that an object past the struct repeats (an earlier datagram of the flow) are outside the window', () => {
    // 6.1-rt once gave network_header candidates 184, 308 and 394 in [0, 512): the captured 512
    // bytes run past the struct into other objects. Here every capture repeats the real two u16
    // values past byte 256, as such a neighbour would.
    const s = clone(fx.samples);
    const skbs = s.args.filter((a) => a.kind === 'skb' && a.bytes.length >= 320);
    expect(skbs.length).toBeGreaterThan(0);
    for (const a of skbs) {
      a.bytes.writeUInt16LE(a.bytes.readUInt16LE(fx.btf.skbNetworkHeader!), 308);
      a.bytes.writeUInt16LE(a.bytes.readUInt16LE(fx.btf.skbTransportHeader!), 310);
    }
    const d = decide(searchAll(s), lacking(fx));
    expect(d.ambiguous.map((c) => c.field)).toEqual([]);
    const got = toOffsets(d.settled, d.unavailable);
    expect([got.skbNetworkHeader, got.skbTransportHeader]).toEqual([fx.btf.skbNetworkHeader, fx.btf.skbTransportHeader]);
  });

  it('a value that does not fit: no candidate left, an error naming the field', () => {
    const s = clone(fx.samples);
    s.socks[0]!.num ^= 0x5a5a;
    const d = decide(searchAll(s), lacking(fx));
    const c = d.none.find((x) => x.field === 'skcNum')!;
    const e = fieldError(c);
    expect(e.code).toBe('ERR_GUESS_NOT_FOUND');
    expect(e.message).toMatch(/^offset guessing: skcNum: no offset in \[0, 64\) fits all \d+ captures/);
  });

  it('without retransmissions total_retrans cannot be told from the other zeros: ambiguous, never a guess', () => {
    const s = clone(fx.samples);
    s.socks = s.socks.filter((x) => !x.tcp || x.tcp.before.totalRetrans === 0);
    const d = decide(searchAll(s), lacking(fx));
    expect(d.settled.has('tcpTotalRetrans')).toBe(false);
    expect([...d.none, ...d.ambiguous].map((c) => c.field)).toContain('tcpTotalRetrans');
  });

  it('the last check catches an offset that does not hold on the fresh sockets', () => {
    const d = decide(searchAll(fx.samples), lacking(fx));
    const fresh = clone(fx.fresh);
    const at = fx.btf.tcpBytesAcked;
    for (const x of fresh.socks) if (x.tcp) x.bytes.writeBigUInt64LE(x.bytes.readBigUInt64LE(at) + 1n, at);
    expect(verify(d.settled, fresh).map((f) => f.field)).toEqual(['tcpBytesAcked']);
  });

  it('compareOffsets: sk_shutdown read as its two bits at BTF\'s position is no difference; another position is', () => {
    const g = { ...fx.btf, skShutdown: { bitOffset: fx.btf.skShutdown.bitOffset, bits: 2 } };
    expect(compareOffsets(fx.btf, g)).toEqual([]);
    const wrong = { ...fx.btf, skShutdown: { bitOffset: fx.btf.skShutdown.bitOffset + 1, bits: 2 } };
    expect(compareOffsets(fx.btf, wrong).map((d) => d.field)).toEqual(['skShutdown']);
  });

  it('unavailable fields carry their reason', () => {
    const m = unavailableFields('no kprobes here', 'no IPv6 here');
    for (const f of HOOK_FIELDS) expect(m.get(f)).toMatch(/needs kprobes: no kprobes here/);
    for (const f of IPV6_FIELDS) expect(m.get(f)).toBe('no IPv6 here');
  });
});
