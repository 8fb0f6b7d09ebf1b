// The kernel side of guessing: bpf/src/offsetguess.bpf.c loaded, its
// programs attached, and one capture per arming. Userspace arms the mailbox
// for its own thread, makes one synchronous call on one of its sockets, and
// reads what the first hit copied: raw bytes, searched in TypeScript.
import { readlinkSync, statSync } from 'node:fs';
import { objects } from '@tracer-bpf/bpf';
import { abi } from '@tracer-bpf/decode';
import { BpfObject, readTracepointFormat } from '@tracer-bpf/loader';
import { GuessError } from './errors.js';

const C = abi.enums.guess_const;
export const SK_BYTES = C.GUESS_SK_BYTES;
export const ARG_BYTES = C.GUESS_ARG_BYTES;
export const CHUNK = C.GUESS_CHUNK;
export const DEREFS = C.GUESS_DEREFS;
export const DEREF_BYTES = C.GUESS_DEREF_BYTES;
const W = abi.enums.guess_what;
const F = abi.enums.guess_deref_flags;
const CAP = abi.structs.guess_capture.fields;
const MBX = abi.structs.guess_mailbox;
const DEREF = abi.structs.guess_deref;

/** What a capture holds (enum guess_what). */
export type CaptureKind = 'sock' | 'msghdr' | 'skb' | 'socket';
const KIND_BIT: Record<CaptureKind, number> = { sock: W.GUESS_SOCK, msghdr: W.GUESS_MSGHDR, skb: W.GUESS_SKB, socket: W.GUESS_SOCKET };

/** A pointer to follow: the one at `ptrOff` of the socket (or of the call's other object), read from + `add`. */
export interface Deref {
  ptrOff: number;
  add?: number;
  fromArg?: boolean;
  /** Bytes to read (1..GUESS_DEREF_BYTES, default all): keep it short for what lies on a kernel stack. */
  len?: number;
}

/** One capture, as userspace reads it (struct guess_capture). */
export interface RawCapture {
  kind: CaptureKind;
  /** The socket's kernel address (0n for 'socket' captures). */
  sk: bigint;
  /** The call's other object's address (msghdr, sk_buff, struct socket), or 0n. */
  arg: bigint;
  /** GUESS_SK_BYTES of the socket; chunks that could not be read are zero and set in skFaults. */
  skBytes: Buffer;
  skFaults: number;
  argBytes: Buffer;
  argFault: boolean;
  /** Per requested deref: the bytes read, or undefined where the read faulted. */
  derefs: (Buffer | undefined)[];
}

/**
 * The programs of the object. A socket hook is tried as a raw tracepoint
 * first (no record layout, and detaching it does not wait for an RCU grace
 * period: 2 ms instead of about 60 ms per hook here), then as a classic
 * tracepoint (record offset from tracefs). Neither needs kernel BTF.
 */
const HOOKS = {
  tcp_rcv: { raw: 'guess_raw_tcp_rcv', classic: 'guess_tcp_rcv', category: 'tcp', name: 'tcp_rcv_space_adjust', field: 'skaddr', global: 'tp_rcv_space_skaddr' },
  sock_send: { raw: 'guess_raw_sock_send', classic: 'guess_sock_send', category: 'sock', name: 'sock_send_length', field: 'sk', global: 'tp_send_length_sk' },
} as const;
const KPROBES = {
  udp_sendmsg: 'guess_udp_sendmsg',
  skb_consume_udp: 'guess_skb_consume_udp',
  inet_getname: 'guess_inet_getname',
} as const;
export type HookName = keyof typeof HOOKS | keyof typeof KPROBES;
const KPROBE_PROGS: Record<string, true> = Object.fromEntries(Object.values(KPROBES).map((p) => [p, true]));

/** `n` bytes of `from` at `at`, copied out of the reused lookup buffer (a plain memcpy, no zero fill first). */
function copyOf(from: Buffer, at: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  from.copy(b, 0, at, at + n);
  return b;
}

/** The calling thread's id in its own pid namespace (the main thread's is the pid). */
export function currentTid(): number {
  try {
    const m = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    if (m) return Number(m[1]);
  } catch {
    // no /proc/thread-self (a procfs of another pid namespace, or none): the main thread's
  }
  return process.pid;
}

/**
 * The loaded guess programs. `open()` loads and attaches what this kernel
 * has (classic tracepoints from tracefs; kprobes where kprobes attach) and
 * says why anything is missing; `close()` releases every link and the object.
 */
export class Capturer implements Disposable {
  readonly #obj: BpfObject;
  /** Hooks attached (and how: 'raw_tracepoint', 'tracepoint', 'kprobe'), and why the others are not. */
  readonly attached: ReadonlyMap<HookName, string>;
  readonly missing: ReadonlyMap<HookName, string>;
  #seq = 0n;
  readonly #tid: number;
  readonly #key = Buffer.alloc(4);
  readonly #mailbox = Buffer.alloc(MBX.size);
  readonly #value = Buffer.alloc(abi.structs.guess_capture.size);
  #closed = false;

  private constructor(obj: BpfObject, attached: Map<HookName, string>, missing: Map<HookName, string>) {
    this.#obj = obj;
    this.attached = attached;
    this.missing = missing;
    this.#tid = currentTid();
  }

  /**
   * Load and attach the socket hooks (`sock_send` only where the kernel has
   * that tracepoint, 6.3+) and, with `kprobes`, the kprobes; say why
   * anything is missing. tcp_rcv_space_adjust is required.
   */
  static async open(opts: { kprobes: boolean; kprobesWhy?: string | undefined }): Promise<Capturer> {
    // Raw tracepoints alone first: the classic programs are loaded (and
    // verified) only where a raw tracepoint would not attach but tracefs
    // has the event, in a second load with both.
    const first = await Capturer.#load(opts, false);
    if (first instanceof Capturer) return first;
    return (await Capturer.#load(opts, true)) as Capturer;
  }

  /**
   * One load and attach. Without `classic`: when a raw tracepoint does not
   * attach and the classic event exists, everything is released and
   * 'retry' returned (open() loads again with the classic programs).
   */
  static async #load(opts: { kprobes: boolean; kprobesWhy?: string | undefined }, classic: boolean): Promise<Capturer | 'retry'> {
    const ns = statSync('/proc/self/ns/pid', { bigint: true });
    const globals: Record<string, number | bigint> = { pidns_dev: ns.dev, pidns_ino: ns.ino };
    const missing = new Map<HookName, string>();
    const obj = BpfObject.open(objects.offsetguess);
    const attached = new Map<HookName, string>();
    const tries = new Map<HookName, string[]>();
    /** The record offset of a hook's socket pointer, from tracefs; undefined without tracefs or the event. */
    const classicOffset = (h: (typeof HOOKS)[keyof typeof HOOKS]): number | undefined => {
      try {
        return readTracepointFormat(h.category, h.name).field(h.field)?.offset;
      } catch {
        return undefined; // no tracefs or no such tracepoint: the raw tracepoint alone
      }
    };
    try {
      for (const [hook, h] of Object.entries(HOOKS) as [keyof typeof HOOKS, (typeof HOOKS)[keyof typeof HOOKS]][]) {
        const progs: string[] = [h.raw];
        const off = classic ? classicOffset(h) : undefined;
        if (off !== undefined) {
          globals[h.global] = off;
          progs.push(h.classic);
        }
        tries.set(hook, progs);
      }
      for (const [hook, prog] of Object.entries(KPROBES) as [keyof typeof KPROBES, string][]) {
        if (opts.kprobes) tries.set(hook, [prog]);
        else missing.set(hook, `kprobe ${hook}: ${opts.kprobesWhy ?? 'kprobes are not available'}`);
      }
      obj.setGlobals(globals);
      for (const progs of tries.values()) for (const p of progs) obj.program(p).setAutoload(true);
      await obj.load();
      for (const [hook, progs] of tries) {
        const why: string[] = [];
        for (const p of progs) {
          try {
            obj.program(p).attach(); // the object keeps the link; its close() detaches it
            attached.set(hook, p.startsWith('guess_raw_') ? 'raw_tracepoint' : p in KPROBE_PROGS ? 'kprobe' : 'tracepoint');
            break;
          } catch (e) {
            why.push(`${p}: ${(e as Error).message}`);
          }
        }
        if (!attached.has(hook)) {
          const h = HOOKS[hook as keyof typeof HOOKS];
          if (!classic && h && classicOffset(h) !== undefined) {
            obj.close(); // its links too
            return 'retry';
          }
          missing.set(hook, why.join('; '));
        }
      }
      if (!attached.has('tcp_rcv')) {
        throw new GuessError('ERR_GUESS_UNSUPPORTED', 'guessing needs the tracepoint tcp:tcp_rcv_space_adjust (as a raw or a classic tracepoint)', missing.get('tcp_rcv'));
      }
      return new Capturer(obj, attached, missing);
    } catch (e) {
      obj.close(); // its links too
      throw e;
    }
  }

  /**
   * Arm for `kind`, run `call` (one synchronous system call on a socket of
   * ours, on this thread), and return what it captured, or undefined when no
   * hook fired for this thread during it.
   */
  capture(kind: CaptureKind, call: () => void, derefs: readonly Deref[] = []): RawCapture | undefined {
    if (this.#closed) throw new GuessError('ERR_GUESS_CLOSED', 'the guess programs were closed');
    if (derefs.length > DEREFS) throw new RangeError(`at most ${DEREFS} derefs per capture, got ${derefs.length}`);
    const seq = ++this.#seq;
    const m = this.#mailbox.fill(0);
    m.writeUInt32LE(this.#tid, MBX.fields.tid.offset);
    m.writeUInt32LE(KIND_BIT[kind], MBX.fields.what.offset);
    m.writeBigUInt64LE(seq, MBX.fields.seq.offset);
    derefs.forEach((d, i) => {
      const at = MBX.fields.deref.offset + i * DEREF.size;
      m.writeUInt32LE(F.GUESS_DEREF_ON | (d.fromArg ? F.GUESS_DEREF_FROM_ARG : 0), at + DEREF.fields.flags.offset);
      m.writeUInt32LE(d.ptrOff, at + DEREF.fields.ptr_off.offset);
      m.writeUInt32LE(d.add ?? 0, at + DEREF.fields.add.offset);
      m.writeUInt32LE(d.len ?? 0, at + DEREF.fields.len.offset);
    });
    const mailbox = this.#obj.map('guess_mailbox');
    mailbox.update(this.#key, m);
    try {
      call();
    } finally {
      // Disarm whatever happened: nothing of a later call may land in this capture.
      mailbox.update(this.#key, this.#mailbox.fill(0));
    }
    const v = this.#obj.map('guess_capture').lookup(this.#key, this.#value);
    if (!v || v.readBigUInt64LE(CAP.seq.offset) !== seq) return undefined;
    const faults = v.readUInt32LE(CAP.deref_faults.offset);
    const derefAt = CAP.deref.offset;
    return {
      kind,
      sk: v.readBigUInt64LE(CAP.sk.offset),
      arg: v.readBigUInt64LE(CAP.arg.offset),
      skBytes: copyOf(v, CAP.sk_bytes.offset, SK_BYTES),
      skFaults: v.readUInt32LE(CAP.sk_faults.offset),
      argBytes: copyOf(v, CAP.arg_bytes.offset, ARG_BYTES),
      argFault: v.readUInt32LE(CAP.arg_fault.offset) !== 0,
      derefs: derefs.map((_, i) => (faults & (1 << i) ? undefined : copyOf(v, derefAt + i * DEREF_BYTES, DEREF_BYTES))),
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The object's close detaches every link, all at once: each kprobe's
    // detach waits for an RCU grace period, and waits at once share them.
    this.#obj.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
