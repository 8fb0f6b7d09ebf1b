export { Btf } from './btf.js';
export { btfFromElf } from './elf-btf.js';
export { readElfSections, findElfSection, type ElfSection } from './elf.js';
export { loadKernelBtf, loadElfBtf, KERNEL_BTF_PATH } from './file.js';
export { BtfKindId, BtfIntEncoding, BtfLinkage, type BtfKind } from './kinds.js';
export { BtfError, ElfError } from './errors.js';
export type {
  BtfType,
  BtfVoid,
  BtfInt,
  BtfRef,
  BtfArray,
  BtfMember,
  BtfStruct,
  BtfEnum,
  BtfEnumValue,
  BtfEnum64,
  BtfEnum64Value,
  BtfFwd,
  BtfFunc,
  BtfParam,
  BtfFuncProto,
  BtfVar,
  BtfVarSecinfo,
  BtfDatasec,
  BtfFloat,
  BtfDeclTag,
  MemberLocation,
} from './types.js';
