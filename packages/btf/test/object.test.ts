// The BTF of a clang-built BPF object, read through our ELF reader, against bpftool.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Btf, btfFromElf, loadElfBtf, readElfSections } from '../src/index.js';
import { abiObjectPath, bpftoolJson, compilerFacts, diffAgainstBpftool, disagreements } from './helpers.js';

describe('ELF section reader', () => {
  it('lists the same sections as readelf', () => {
    const sections = readElfSections(readFileSync(abiObjectPath));
    // readelf -SW: "  [Nr] Name Type Address Off Size ES Flg Lk Inf Al"
    const rows = execFileSync('readelf', ['-SW', abiObjectPath], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /^\s*\[\s*(\d+)\]\s+(\S*)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ index: Number(m[1]), name: m[2] === 'NULL' ? '' : m[2], offset: parseInt(m[3] as string, 16), size: parseInt(m[4] as string, 16) }));
    expect(rows.length).toBeGreaterThan(5);
    expect(sections.map((s) => ({ index: s.index, name: s.name, offset: s.offset, size: s.size }))).toEqual(rows);
    const btf = sections.find((s) => s.name === '.BTF');
    expect(btf?.data.byteLength).toBe(btf?.size);
  });
});

describe('BTF of tracer_abi.bpf.o', () => {
  const btf = loadElfBtf(abiObjectPath);

  it('reads every type exactly as bpftool does', () => {
    const expected = bpftoolJson(abiObjectPath);
    expect(expected.length).toBeGreaterThan(20);
    expect(diffAgainstBpftool(btf, expected)).toEqual([]);
  });

  it('agrees with the C compiler on every ABI struct, member (nested ones too) and enum value of abi.h', () => {
    const dir = mkdtempSync(join(tmpdir(), 'btf-abi-'));
    try {
      const include = join(dirname(abiObjectPath), '..', 'include');
      const fs = compilerFacts(btf, { dir, prelude: ['#include <tracer_bpf/abi.h>'], cflags: ['-I', include], nested: true, enumValues: true });
      expect(disagreements(fs)).toEqual([]);
      // Every struct and enum the object declares was probed (by bpftool's list of them).
      const named = bpftoolJson(abiObjectPath).filter((t) => ['STRUCT', 'ENUM'].includes(t.kind) && t.name !== '(anon)');
      expect(fs.filter((f) => f.what.startsWith('sizeof(')).map((f) => f.what)).toEqual(named.map((t) => `sizeof(${t.kind.toLowerCase()} ${t.name})`));
      // A member three levels down is among them.
      expect(fs.map((f) => f.what)).toContain('struct batch.c2.conn_stats.sent_bytes');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves members through their typedefs', () => {
    const sport = btf.memberOffset('conn_tuple', ['sport']);
    expect(sport.bitSize).toBe(0);
    expect(btf.typeName(sport.type)).toBe('__u16');
    expect(btf.kind(btf.resolve(sport.type))).toBe('int');
  });

  it('reads enums with their values', () => {
    const e = btf.enum('guess_what');
    expect(e.kind).toBe('enum');
    expect(e.values.find((v) => v.name === 'GUESS_SOCKET')?.value).toBe(8);
  });

  it('btfFromElf gives the same BTF as loadElfBtf, type by type', () => {
    const again = btfFromElf(readFileSync(abiObjectPath));
    expect(again.typeCount).toBe(btf.typeCount);
    expect([...again.types()]).toEqual([...btf.types()]);
    // And both are the bytes of the ELF's .BTF section, decoded.
    const section = readElfSections(readFileSync(abiObjectPath)).find((s) => s.name === '.BTF');
    expect([...Btf.parse(section?.data as Uint8Array).types()]).toEqual([...btf.types()]);
  });
});
