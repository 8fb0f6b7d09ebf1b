// The BTF of a clang-built BPF object, read through our ELF reader, against bpftool.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { btfFromElf, loadElfBtf, readElfSections } from '../src/index.js';
import { abiObjectPath, bpftoolJson, diffAgainstBpftool } from './helpers.js';

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

  it('resolves the ABI structs through their typedefs', () => {
    const tuple = btf.struct('conn_tuple');
    expect(tuple.size).toBe(48);
    const sport = btf.memberOffset('conn_tuple', ['sport']);
    expect(sport).toMatchObject({ offset: 32, bitOffset: 256, bitSize: 0, size: 2 });
    expect(btf.typeName(sport.type)).toBe('__u16');
    expect(btf.kind(btf.resolve(sport.type))).toBe('int');
    expect(btf.memberOffset('batch', ['c2', 'conn_stats', 'timestamp']).offset).toBe(2 * 112 + 48 + 16);
    expect(btf.sizeOf(btf.struct('batch').id)).toBe(464);
  });

  it('reads enums with their values', () => {
    const e = btf.enum('guess_what');
    expect(e.kind).toBe('enum');
    expect(e.values.find((v) => v.name === 'GUESS_NOT_APPLICABLE')?.value).toBe(99999);
  });

  it('btfFromElf gives the same BTF as loadElfBtf', () => {
    const again = btfFromElf(readFileSync(abiObjectPath));
    expect(again.typeCount).toBe(btf.typeCount);
  });
});
