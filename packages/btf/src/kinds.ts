// BTF kind numbers (include/uapi/linux/btf.h) and their names.

/** BTF_KIND_* by name. */
export const BtfKindId = {
  void: 0,
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  func_proto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  decl_tag: 17,
  type_tag: 18,
  enum64: 19,
} as const;

export type BtfKind = keyof typeof BtfKindId;

/** Kind names indexed by kind number. */
export const kindNames: readonly BtfKind[] = Object.keys(BtfKindId) as BtfKind[];

/** Bytes that follow the 12-byte `struct btf_type` for a kind, or -1 for a kind this reader does not know. */
export function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case 1: return 4; // int encoding
    case 3: return 12; // btf_array
    case 4:
    case 5: return 12 * vlen; // btf_member
    case 6: return 8 * vlen; // btf_enum
    case 13: return 8 * vlen; // btf_param
    case 14: return 4; // btf_var
    case 15: return 12 * vlen; // btf_var_secinfo
    case 17: return 4; // btf_decl_tag
    case 19: return 12 * vlen; // btf_enum64
    case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18:
      return 0;
    default:
      return -1;
  }
}

/** BTF_INT_* encoding bits. */
export const BtfIntEncoding = { signed: 1, char: 2, bool: 4 } as const;

/** Linkage of a FUNC (in vlen) or VAR. */
export const BtfLinkage = { static: 0, global: 1, extern: 2 } as const;
