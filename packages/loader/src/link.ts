// A Link: one attachment of a program, released by close() (links are file
// descriptors; the kernel also releases them when the process ends).
import { readFileSync } from 'node:fs';
import { native, type NativeHandle } from './binding.js';
import { BpfClosedError } from './errors.js';
import { type Init, readInit } from './init.js';

export interface LinkInfo {
  kind: string;
  target: string;
  fd: number;
  /** BPF link id (kernels where the attachment is a BPF link). */
  id?: number;
  progId?: number;
  /** The tracefs kprobe event behind a link attached in tracefs mode. */
  legacyEvent?: string;
}

export interface LinkOwner {
  readonly name: string;
  readonly closed: boolean;
}

export class Link implements Disposable {
  readonly kind: string;
  readonly target: string;
  /** Set when the kprobe went to a compiler clone of the function asked for. */
  readonly clone: string | undefined;
  readonly #handle: NativeHandle;
  readonly #owner: LinkOwner;
  readonly #tracefs: string | undefined;
  #closed = false;

  /** Links come from BpfProgram.attach(). */
  constructor(init: Init<'Link'>) {
    const { handle, owner, kind, target, clone, tracefs } = readInit<{
      handle: NativeHandle;
      owner: LinkOwner;
      kind: string;
      target: string;
      clone?: string | undefined;
      tracefs?: string | undefined;
    }>(init);
    this.#handle = handle;
    this.#owner = owner;
    this.kind = kind;
    this.target = target;
    this.clone = clone;
    this.#tracefs = tracefs;
  }

  get closed(): boolean {
    return this.#closed || this.#owner.closed;
  }

  info(): LinkInfo {
    this.#check('link info');
    const i = native.link_info(this.#handle);
    const out: LinkInfo = { kind: i.kind, target: i.target, fd: i.fd };
    if (i.id !== undefined) out.id = i.id;
    if (i.progId !== undefined) out.progId = i.progId;
    if (i.legacyEvent !== undefined) out.legacyEvent = i.legacyEvent;
    return out;
  }

  /**
   * Times the kprobe could not run (kretprobe instances exhausted, recursion).
   * From tracefs kprobe_profile for tracefs-mode kprobes (every kernel), from
   * the BPF link info for PMU kprobes (kernels 6.7+); undefined where the
   * kernel does not expose it.
   */
  nmissed(): bigint | undefined {
    this.#check('read nmissed');
    if (this.kind !== 'kprobe' && this.kind !== 'kretprobe') return undefined;
    const i = native.link_info(this.#handle);
    if (i.legacyEvent && this.#tracefs) {
      const event = i.legacyEvent.slice(i.legacyEvent.indexOf('/') + 1);
      const profile = readFileSync(`${this.#tracefs}/kprobe_profile`, 'utf8');
      for (const line of profile.split('\n')) {
        const f = line.trim().split(/\s+/);
        if (f[0] === event && f[2] !== undefined) return BigInt(f[2]);
      }
      return undefined;
    }
    return i.kprobeMissed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.link_close(this.#handle);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #check(op: string): void {
    if (this.closed) {
      throw new BpfClosedError({ code: 'ERR_BPF_CLOSED', op, target: this.target, object: this.#owner.name, message: 'the link is closed' });
    }
  }
}
