// Constructors the library calls itself (BpfProgram, BpfMap, Link, readers)
// take one opaque argument, so that the published declarations show neither
// the addon's wire formats nor the owner plumbing. User code gets instances
// from BpfObject.open(), program.attach() and object.openRingBuffer().
declare const initBrand: unique symbol;

/** An opaque constructor argument: instances come from the library, not from `new`. */
export type Init<T extends string> = { readonly [initBrand]: T };

export function makeInit<T extends string, V extends object>(value: V): Init<T> {
  return value as unknown as Init<T>;
}

export function readInit<V>(init: Init<string>): V {
  return init as unknown as V;
}
