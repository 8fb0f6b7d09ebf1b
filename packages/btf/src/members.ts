// Member lookup through nested and anonymous structs/unions.
import type { Btf } from './btf.js';
import { BtfError } from './errors.js';
import type { BtfMember, MemberLocation } from './types.js';

interface Hit {
  readonly bitOffset: number;
  readonly member: BtfMember;
}

/** `name` in struct/union `id`, looking inside anonymous members (C scoping: their members belong to the parent). */
function findMember(btf: Btf, id: number, name: string, depth: number): Hit | undefined {
  if (depth > 32) throw new BtfError(`BTF: anonymous members of type ${id} nest deeper than 32`);
  const t = btf.type(btf.resolve(id));
  if (t.kind !== 'struct' && t.kind !== 'union') return undefined;
  for (const m of t.members) {
    if (m.name === name) return { bitOffset: m.bitOffset, member: m };
  }
  for (const m of t.members) {
    if (m.name !== '') continue;
    const inner = findMember(btf, m.type, name, depth + 1);
    if (inner) return { bitOffset: m.bitOffset + inner.bitOffset, member: inner.member };
  }
  return undefined;
}

/** Bitfield width and extra bit offset of a member in the old (non-kind_flag) encoding, carried by its int type. */
function intBitfield(btf: Btf, m: BtfMember): { bitSize: number; bitOffset: number } {
  if (m.bitSize !== 0) return { bitSize: m.bitSize, bitOffset: 0 };
  const t = btf.type(btf.resolve(m.type));
  if (t.kind === 'int' && (t.bitOffset !== 0 || t.bits !== t.size * 8)) return { bitSize: t.bits, bitOffset: t.bitOffset };
  return { bitSize: 0, bitOffset: 0 };
}

export function findMemberPath(btf: Btf, structId: number, path: readonly string[]): MemberLocation {
  if (path.length === 0) throw new BtfError('BTF: memberOffset needs at least one member name');
  let cur = structId;
  let bitOffset = 0;
  let last: BtfMember | undefined;
  let bitSize = 0;
  const where = (i: number): string => `${btf.typeName(structId)}${path.slice(0, i).map((p) => `.${p}`).join('')}`;
  for (let i = 0; i < path.length; i++) {
    const name = path[i] as string;
    if (bitSize !== 0) throw new BtfError(`BTF: ${where(i)} is a bitfield, it has no member '${name}'`);
    const kind = btf.kind(btf.resolve(cur));
    if (kind !== 'struct' && kind !== 'union') {
      throw new BtfError(`BTF: ${where(i)} is a ${btf.typeName(cur)} (${kind}), not a struct or union`);
    }
    const hit = findMember(btf, cur, name, 0);
    if (!hit) throw new BtfError(`BTF: ${where(i)} has no member '${name}'`);
    const bf = intBitfield(btf, hit.member);
    bitOffset += hit.bitOffset + bf.bitOffset;
    bitSize = bf.bitSize;
    last = hit.member;
    cur = hit.member.type;
  }
  const member = last as BtfMember;
  return { bitOffset, offset: Math.floor(bitOffset / 8), bitSize, type: member.type, size: btf.sizeOf(member.type) };
}
