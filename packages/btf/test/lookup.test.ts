// Lookups by name without the name index, in memory (Btf.parse) and read
// from a file on demand (loadKernelBtf): the same answers as the index.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Btf, BtfKindId as K, loadKernelBtf } from '../src/index.js';
import { BtfBuilder } from './builder.js';
import { VMLINUX } from './helpers.js';

/** struct inet_sock (8 bytes) and a struct whose name offset points into the tail of 'inet_sock': 'sock' (4 bytes), and a typedef sock. */
function tailShared(): Uint8Array {
  const b = new BtfBuilder();
  const int = b.add({ name: 'int', kind: K.int, sizeOrType: 4, extra: [32] });
  b.add({ name: 'inet_sock', kind: K.struct, vlen: 1, sizeOrType: 8, extra: [b.str('a'), int, 0] });
  b.add({ name: 'inet_sock', kind: K.struct, vlen: 1, sizeOrType: 4, extra: [b.str('b'), int, 0] });
  b.add({ name: 'inet_sock', kind: K.typedef, sizeOrType: 3 });
  const blob = b.build();
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  // Types are 16 (int), 24, 24 and 12 bytes from byte 24: patch the name offsets of the second struct and the typedef.
  const second = 24 + 16 + 24;
  const typedef = second + 24;
  dv.setUint32(second, dv.getUint32(second, true) + 5, true);
  dv.setUint32(typedef, dv.getUint32(typedef, true) + 5, true);
  return blob;
}

function checkTailShared(btf: Btf): void {
  expect(btf.name(3)).toBe('sock');
  expect(btf.findIds('sock')).toEqual([3, 4]);
  expect(btf.findIds('sock', 'typedef')).toEqual([4]);
  expect(btf.findIds('inet_sock')).toEqual([2]);
  const s = btf.structs(['sock', 'inet_sock']);
  expect(s.get('sock')!.id).toBe(3);
  expect(s.get('inet_sock')!.id).toBe(2);
  expect(btf.struct('sock').size).toBe(4);
  expect(btf.memberOffset('sock', ['b']).size).toBe(4);
  expect(() => btf.structs(['ock_missing'])).toThrow(/no struct or union named 'ock_missing'/);
}

describe('lookups by name', () => {
  it('find a name stored as the tail of a longer string, in memory and from a file', () => {
    const blob = tailShared();
    checkTailShared(Btf.parse(blob));
    const dir = mkdtempSync(join(tmpdir(), 'btf-lookup-'));
    try {
      writeFileSync(join(dir, 'blob'), blob);
      checkTailShared(loadKernelBtf(join(dir, 'blob')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!existsSync(VMLINUX))('kernel BTF read on demand answers as the whole file in memory does, before and after the name index', () => {
    const paged = loadKernelBtf();
    const whole = Btf.parse(readFileSync(VMLINUX));
    const structs = ['sock', 'inet_sock', 'tcp_sock', 'net', 'sk_buff', 'socket', 'msghdr'];
    const a = paged.structs(structs);
    const b = whole.structs(structs);
    for (const n of structs) expect(a.get(n), n).toEqual(b.get(n));
    expect(paged.memberOffset('sock', ['__sk_common', 'skc_dport'])).toEqual(whole.memberOffset('sock', ['__sk_common', 'skc_dport']));
    // More distinct names than the targeted lookups: the last ones go through the whole index.
    const names = [...structs, 'btf_trace_sock_send_length', 'tcp_sendmsg', 'udp_sendmsg', 'inet_getname', 'skb_consume_udp', 'task_struct', 'file', 'path', 'inode', 'dentry', 'super_block', 'no_such_name_here', 'int', 'sock_common'];
    for (const n of names) {
      const ids = paged.findIds(n);
      expect(ids, n).toEqual(whole.findIds(n));
      for (const id of ids) expect(paged.type(id)).toEqual(whole.type(id));
    }
    expect(paged.find('tcp_sendmsg', 'func')).toEqual(whole.find('tcp_sendmsg', 'func'));
  });
});
