// The shape of the generated layout table (src/layout.gen.ts).

/** A fixed-width integer as the ABI header spells it (__u8 ... __s64). */
export type ScalarType = 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64';

export interface ScalarField {
  readonly offset: number;
  readonly size: number;
  readonly type: ScalarType;
}

export interface StructField {
  readonly offset: number;
  readonly size: number;
  readonly type: 'struct';
  readonly struct: string;
}

export interface ArrayField {
  readonly offset: number;
  readonly size: number;
  readonly type: 'array';
  readonly elem: ScalarType | 'struct';
  /** The element struct when elem is 'struct'. */
  readonly struct?: string;
  readonly count: number;
}

export type FieldLayout = ScalarField | StructField | ArrayField;

export interface StructLayout {
  readonly size: number;
  /** In declaration order. */
  readonly fields: { readonly [name: string]: FieldLayout };
}

export type StructTable = { readonly [name: string]: StructLayout };
export type EnumTable = { readonly [name: string]: { readonly [name: string]: number | bigint } };
