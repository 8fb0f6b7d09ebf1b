// The shipped prebuilt addon, checked as a binary: it needs only the C
// library and C++ runtime that node itself uses, no glibc newer than 2.31
// (Debian bullseye, Ubuntu 20.04), exports none of the libbpf / libelf / zlib
// it links statically, and is stripped.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const prebuildDir = fileURLToPath(new URL('../prebuilds/linux-x64/', import.meta.url));
const MAX_GLIBC = '2.31';
// Debian bullseye's libstdc++ (GCC 10): what a glibc 2.31 system has.
const MAX_GLIBCXX = '3.4.28';
const MAX_CXXABI = '1.3.12';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** Numeric comparison of dotted versions: "2.9" < "2.28" < "2.31". */
function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** ldd's sonames: "libc.so.6 => /lib/...", "/lib64/ld-linux-x86-64.so.2 (0x...)", "linux-vdso.so.1 (0x...)". */
function lddNames(file: string): string[] {
  return sh('ldd', [file])
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => path.basename((l.split(/\s+/)[0] as string).trim()));
}

interface DynSym {
  defined: boolean;
  version: string;
  name: string;
}

/**
 * objdump -T lines: address, flags, section, size, [version], name:
 *   "0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.2.5) ftell"
 *   "00000000000101d0 g    DF .text\t0000000000000029  Base        napi_register_module_v1"
 *   "0000000000000000      D  *UND*\t0000000000000000              napi_create_promise"
 */
function dynamicSymbols(file: string): DynSym[] {
  const out: DynSym[] = [];
  for (const line of sh('objdump', ['-T', file]).split('\n')) {
    const m = /^[0-9a-f]{8,16} .{7} (\*UND\*|\*ABS\*|\.\S+)\s+[0-9a-f]{8,16}\s+(.*)$/.exec(line);
    if (!m) continue;
    const rest = (m[2] as string).trim().split(/\s+/);
    const name = rest.at(-1) as string;
    const version = rest.length > 1 ? (rest[0] as string).replace(/^\((.*)\)$/, '$1') : '';
    out.push({ defined: m[1] !== '*UND*', version, name });
  }
  return out;
}

const LIB_PREFIXES = /^(bpf_|btf_|btf__|libbpf_|bpf_object|bpf_program|bpf_map|bpf_link|ring_buffer|perf_buffer|elf_|elf32_|elf64_|gelf_|inflate|deflate|zlib|crc32|adler32|compress|uncompress|gz|z_)/i;
// The addon's entry points, and weak instantiations from the C++ standard library headers.
const ALLOWED_EXPORT =
  /^(napi_register_module_v1|node_api_module_get_api_version_v1|_Z(St|NSt|NKSt|ZNSt|ZNKSt|T[ISV]St|N9__gnu_cxx|NK9__gnu_cxx|T[ISV]N9__gnu_cxx)\S*)$/;

const PREBUILD = '@tracer-bpf+loader.glibc.node';
const MISSING = `is missing: \`pnpm --filter @tracer-bpf/loader build\` (or \`pnpm build\`) makes it`;
const files = existsSync(prebuildDir) ? readdirSync(prebuildDir).filter((f) => f.endsWith('.node')) : [];

// The checks below always exist: a missing prebuild fails each of them by name, none of them vanishes.
describe('the prebuilt addon', () => {
  it('exists for linux-x64 glibc', () => {
    expect(files, `${prebuildDir}${PREBUILD} ${MISSING}`).toEqual([PREBUILD]);
  });

  describe(PREBUILD, () => {
    const file = path.join(prebuildDir, PREBUILD);
    /** Each check fails by name, with how to make the file, when it is missing. */
    const built = () => {
      if (!existsSync(file)) throw new Error(`${file} ${MISSING}`);
    };

    it('links only the C library and C++ runtime that node itself links', () => {
      built();
      const allowed = /^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libpthread\.so\.0|libdl\.so\.2|ld-linux-x86-64\.so\.2)$/;
      const libs = lddNames(file);
      expect(libs.length).toBeGreaterThan(0);
      expect(libs.filter((l) => !allowed.test(l))).toEqual([]);
      const nodeLibs = new Set(lddNames(realpathSync(process.execPath)));
      const notInNode = libs.filter((l) => !nodeLibs.has(l) && !/^(ld-linux|linux-vdso)/.test(l));
      expect(notInNode, `node links ${[...nodeLibs].join(', ')}`).toEqual([]);
      // Nothing unresolved.
      expect(sh('ldd', [file])).not.toMatch(/not found/);
    });

    it(`needs no GLIBC symbol version newer than ${MAX_GLIBC} (nor a libstdc++ newer than bullseye's)`, () => {
      built();
      const syms = dynamicSymbols(file);
      expect(syms.length).toBeGreaterThan(20);
      const versions = (prefix: string) =>
        [...new Set(syms.map((s) => s.version).filter((v) => v.startsWith(prefix)).map((v) => v.slice(prefix.length)))].sort(compareVersions);
      const glibc = versions('GLIBC_');
      expect(glibc.length).toBeGreaterThan(0);
      expect(glibc.filter((v) => compareVersions(v, MAX_GLIBC) > 0), `GLIBC versions: ${glibc.join(' ')}`).toEqual([]);
      expect(versions('GLIBCXX_').filter((v) => compareVersions(v, MAX_GLIBCXX) > 0)).toEqual([]);
      expect(versions('CXXABI_').filter((v) => compareVersions(v, MAX_CXXABI) > 0)).toEqual([]);
      // The parser must have seen the versions at all (a format change must fail here, not pass silently).
      expect(glibc).toContain('2.2.5');
    });

    it('exports no libbpf, libelf or zlib symbol: only the module entry points and C++ runtime instantiations', () => {
      built();
      const defined = dynamicSymbols(file).filter((s) => s.defined);
      const names = defined.map((s) => s.name);
      expect(names).toContain('napi_register_module_v1');
      expect(names.filter((n) => LIB_PREFIXES.test(n))).toEqual([]);
      expect(names.filter((n) => !ALLOWED_EXPORT.test(n))).toEqual([]);
    });

    it('is stripped', () => {
      built();
      const description = sh('file', ['-L', file]);
      expect(description).toMatch(/ELF 64-bit LSB shared object, x86-64/);
      expect(description).toMatch(/, stripped/);
      expect(description).not.toMatch(/not stripped/);
      const sections = sh('readelf', ['-S', '--wide', file]);
      expect(sections).toMatch(/\.dynsym/);
      expect(sections).not.toMatch(/\.symtab/);
      expect(sections).not.toMatch(/\.debug_/);
    });
  });
});
