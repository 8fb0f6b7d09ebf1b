// Decoded BTF types: one interface per kind, discriminated by `kind`.
// `id` is the type id; `name` is '' for anonymous types.

interface Base {
  readonly id: number;
  readonly name: string;
}

export interface BtfVoid extends Base { readonly kind: 'void' }

export interface BtfInt extends Base {
  readonly kind: 'int';
  readonly size: number;
  /** Bits of value (BTF_INT_BITS). */
  readonly bits: number;
  /** Bit offset of the value inside `size` (BTF_INT_OFFSET; 0 except in old-style bitfields). */
  readonly bitOffset: number;
  readonly signed: boolean;
  readonly char: boolean;
  readonly bool: boolean;
}

/** Kinds that only point at another type: ptr, typedef and the modifiers. */
export interface BtfRef extends Base {
  readonly kind: 'ptr' | 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag';
  readonly type: number;
}

export interface BtfArray extends Base {
  readonly kind: 'array';
  readonly type: number;
  readonly indexType: number;
  readonly nelems: number;
}

export interface BtfMember {
  readonly name: string;
  readonly type: number;
  /** Bit offset from the start of the struct (for kind_flag structs, the low 24 bits of the raw offset). */
  readonly bitOffset: number;
  /** Bitfield width from the kind_flag encoding; 0 when not a bitfield or in the old encoding (see BtfInt.bits). */
  readonly bitSize: number;
}

export interface BtfStruct extends Base {
  readonly kind: 'struct' | 'union';
  readonly size: number;
  /** kind_flag: members carry bitfield sizes in the upper 8 bits of their offset. */
  readonly kindFlag: boolean;
  readonly members: readonly BtfMember[];
}

export interface BtfEnumValue {
  readonly name: string;
  readonly value: number;
}

export interface BtfEnum extends Base {
  readonly kind: 'enum';
  readonly size: number;
  /** kind_flag: values are signed (s32), else unsigned (u32). */
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue[];
}

export interface BtfEnum64Value {
  readonly name: string;
  readonly value: bigint;
}

export interface BtfEnum64 extends Base {
  readonly kind: 'enum64';
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly BtfEnum64Value[];
}

export interface BtfFwd extends Base {
  readonly kind: 'fwd';
  /** A forward `union` (kind_flag), else `struct`. */
  readonly union: boolean;
}

export interface BtfFunc extends Base {
  readonly kind: 'func';
  /** The FUNC_PROTO. */
  readonly type: number;
  /** BtfLinkage: 0 static, 1 global, 2 extern. */
  readonly linkage: number;
}

export interface BtfParam {
  readonly name: string;
  /** 0 (with an empty name) for the `...` of a variadic function. */
  readonly type: number;
}

export interface BtfFuncProto extends Base {
  readonly kind: 'func_proto';
  /** 0 for void. */
  readonly returnType: number;
  readonly params: readonly BtfParam[];
  readonly variadic: boolean;
}

export interface BtfVar extends Base {
  readonly kind: 'var';
  readonly type: number;
  readonly linkage: number;
}

export interface BtfVarSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

export interface BtfDatasec extends Base {
  readonly kind: 'datasec';
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}

export interface BtfFloat extends Base {
  readonly kind: 'float';
  readonly size: number;
}

export interface BtfDeclTag extends Base {
  readonly kind: 'decl_tag';
  readonly type: number;
  /** -1: the tag is on the type itself; else the member or parameter index. */
  readonly componentIdx: number;
}

export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfRef
  | BtfArray
  | BtfStruct
  | BtfEnum
  | BtfEnum64
  | BtfFwd
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;

/** Where a member lives, from the start of the outermost struct. */
export interface MemberLocation {
  /** Bit offset from the start of the struct. */
  readonly bitOffset: number;
  /** Byte offset (bitOffset / 8 rounded down; for a bitfield, the byte holding its first bit). */
  readonly offset: number;
  /** Bitfield width, or 0 when the member is not a bitfield. */
  readonly bitSize: number;
  /** The member's type id (as declared: may be a typedef or modifier). */
  readonly type: number;
  /** sizeof the member's type in bytes (for a bitfield, of its storage type). */
  readonly size: number;
}
