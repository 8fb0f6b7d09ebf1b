// Connections as rows of one slab per result: every field of a connection is
// written once, as numbers, into a Float64Array row (its 32-bit fields in the
// same bytes through a Uint32Array), straight from the map read buffers. The
// objects users get (ConnectionView) are views over a row: reading a field is
// an array load, and a snapshot of N connections is one allocation of
// N x ROW_BYTES outside the JS heap (nothing for the GC to trace or copy)
// instead of N objects, their bigints and strings.
import { abi, ConnCloseReason, ConnDirection, ConnFlags, ipv4FromWord, ipv6FromWords, TcpState } from '@tracer-bpf/decode';
import { TracerError } from './errors.js';
import { float64s, releaseFrom } from './slab-memory.js';
import type { ClientConnection, CloseReason, ConnectionDelta, Direction, TcpInfo, TcpStateName } from './connection.js';

/** Float64 slots of a row. */
export const ROW = 21;
/** Bytes of a row. */
export const ROW_BYTES = ROW * 8;

// f64 slots
const S_ID = 0; // raw u64 (read through the BigUint64Array)
const S_SENT = 1;
const S_RECV = 2;
const S_SENT_P = 3;
const S_RECV_P = 4;
const S_START = 5;
const S_LAST = 6;
export const S_DSENT = 7;
const S_DRECV = 8;
const S_DSENT_P = 9;
const S_DRECV_P = 10;
// u32 words (index 2 x slot + k)
export const W_PID = 22;
export const W_NETNS = 23;
/** localPort | remotePort << 16 */
export const W_PORTS = 24;
export const W_FLAGS = 25;
export const W_RETR = 26;
const W_RTT = 27;
const W_RTTVAR = 28;
const W_SEGS_OUT = 29;
const W_SEGS_IN = 30;
/** state_transitions | state << 16 */
const W_STATES = 31;
/** retransmits delta (int32) */
export const W_DRETR = 32;
/** index into the store's commands */
const W_CMD = 33;
/** local address: 4 words as the tuple holds them (IPv4 in the third) */
export const W_LADDR = 34;
export const W_RADDR = 38;

// W_FLAGS bits: the first two are the tuple's metadata bits (type, family)
export const F_TCP = 1;
export const F_V6 = 2;
const F_DIR_SHIFT = 2; // 2 bits: ConnDirection
const F_LATE = 1 << 4;
const F_ASSURED = 1 << 5;
const F_COOKIE = 1 << 6;
const F_HAS_TCP = 1 << 7;
const F_CLOSED_SHIFT = 8; // 3 bits: 0 live, else CLOSE_CODES index
export const CLOSED_MASK = 7 << F_CLOSED_SHIFT;

const CLOSE_NAMES: readonly (CloseReason | undefined)[] = [undefined, 'destroyed', 'failed', 'expired', 'unknown'];
/** The row code of a kernel close reason (ConnCloseReason), 'unknown' for a byte this version does not know. */
function closeCode(reason: number): number {
  return reason === ConnCloseReason.DESTROYED ? 1 : reason === ConnCloseReason.FAILED ? 2 : reason === ConnCloseReason.EXPIRED ? 3 : 4;
}
const DIRECTIONS: readonly Direction[] = ['unknown', 'incoming', 'outgoing', 'unknown'];
if (ConnDirection.INCOMING !== 1 || ConnDirection.OUTGOING !== 2) throw new Error('tracer: ConnDirection changed: update rows.ts');

const STATE_NAMES = Object.fromEntries(Object.entries(TcpState).map(([k, v]) => [v, k])) as Record<number, TcpStateName>;

export function stateNames(mask: number): TcpStateName[] {
  const out: TcpStateName[] = [];
  for (let s = 1; s <= 12; s++) if ((mask >>> s) & 1) out.push(STATE_NAMES[s]!);
  return out;
}

/** stateNames() per 16-bit mask, made once: a connection's `states` is one of these shared, frozen arrays. */
const STATES_BY_MASK: (readonly TcpStateName[] | undefined)[] = [];
function statesOf(mask: number): TcpStateName[] {
  return (STATES_BY_MASK[mask] ??= Object.freeze(stateNames(mask))) as TcpStateName[];
}

// ------------------------------------------------------------------ source layouts (word indices)
function word(name: string, offset: number): number {
  if (offset % 4 !== 0) throw new Error(`tracer: ${name} at ${offset} is not 4-byte aligned`);
  return offset / 4;
}
const TF = abi.structs.conn_tuple.fields;
const SF = abi.structs.conn_stats.fields;
const PF = abi.structs.tcp_stats.fields;
const RF = abi.structs.tcp_sock_rec.fields;
const CF = abi.structs.conn.fields;
const T = {
  saddr: word('saddr_h', TF.saddr_h.offset),
  daddr: word('daddr_h', TF.daddr_h.offset),
  ports: word('sport', TF.sport.offset),
  netns: word('netns', TF.netns.offset),
  pid: word('pid', TF.pid.offset),
  metadata: word('metadata', TF.metadata.offset),
};
if (TF.dport.offset !== TF.sport.offset + 2 || TF.saddr_l.offset !== TF.saddr_h.offset + 8 || TF.daddr_l.offset !== TF.daddr_h.offset + 8) {
  throw new Error('tracer: conn_tuple layout changed: update rows.ts');
}
const S = {
  sent: word('sent_bytes', SF.sent_bytes.offset),
  recv: word('recv_bytes', SF.recv_bytes.offset),
  sentP: word('sent_packets', SF.sent_packets.offset),
  recvP: word('recv_packets', SF.recv_packets.offset),
  timestamp: word('timestamp', SF.timestamp.offset),
  id: word('id', SF.id.offset),
  start: word('start', SF.start.offset),
  flags: word('flags', SF.flags.offset),
  direction: SF.direction.offset,
};
const P = {
  retr: word('retransmits', PF.retransmits.offset),
  rtt: word('rtt', PF.rtt.offset),
  rttVar: word('rtt_var', PF.rtt_var.offset),
  segsOut: word('segs_out', PF.segs_out.offset),
  segsIn: word('segs_in', PF.segs_in.offset),
  states: word('state_transitions', PF.state_transitions.offset),
};
if (PF.state.offset !== PF.state_transitions.offset + 2) throw new Error('tracer: tcp_stats layout changed: update rows.ts');
/** struct tcp_sock_rec (the head of a sock_state value), in words; nslots and live in bytes. */
export const REC = {
  tup: word('tcp_sock_rec.tup', RF.tup.offset),
  tcp: word('tcp_sock_rec.tcp', RF.tcp.offset),
  slots: word('tcp_sock_rec.slots', RF.slots.offset),
  slotWords: word('conn_stats size', abi.structs.conn_stats.size),
  pids: word('tcp_sock_rec.pids', RF.pids.offset),
  nslots: RF.nslots.offset,
  live: RF.live.offset,
  /** live values: shown, and dead (destroyed, its delete failed: never shown, removed). */
  LIVE: abi.enums.tcp_rec_live.TCP_REC_LIVE,
  DEAD: abi.enums.tcp_rec_live.TCP_REC_DEAD,
  maxPids: abi.enums.tracer_abi_const.CONN_MAX_PIDS,
};
/** struct conn (a close record), in words; reason in bytes. */
const CONN = {
  tup: word('conn.tup', CF.tup.offset),
  stats: word('conn.conn_stats', CF.conn_stats.offset),
  tcp: word('conn.tcp_stats', CF.tcp_stats.offset),
  reason: CF.reason.offset,
};
const TWO32 = 4294967296;

/**
 * Write one connection into row `o` (a slot index) of `f`/`u`: the tuple at
 * word `t` of `tw`, its conn_stats at word `s` of `sw`, its tcp_stats at word
 * `p` of `sw` (or none: -1), `pid` (-1: the tuple's), and the close
 * reason (a ConnCloseReason, 0: live). Deltas and command are left as they are.
 */
export function writeRow(f: Float64Array, u: Uint32Array, o: number, tw: Uint32Array, t: number, sw: Uint32Array, s: number, p: number, pid: number, reason: number): void {
  const w = 2 * o;
  u[w] = sw[s + S.id]!;
  u[w + 1] = sw[s + S.id + 1]!;
  f[o + S_SENT] = sw[s + S.sent]! + sw[s + S.sent + 1]! * TWO32;
  f[o + S_RECV] = sw[s + S.recv]! + sw[s + S.recv + 1]! * TWO32;
  f[o + S_SENT_P] = sw[s + S.sentP]! + sw[s + S.sentP + 1]! * TWO32;
  f[o + S_RECV_P] = sw[s + S.recvP]! + sw[s + S.recvP + 1]! * TWO32;
  f[o + S_START] = sw[s + S.start]! + sw[s + S.start + 1]! * TWO32;
  f[o + S_LAST] = sw[s + S.timestamp]! + sw[s + S.timestamp + 1]! * TWO32;
  const meta = tw[t + T.metadata]!;
  const kflags = sw[s + S.flags]!;
  const dir = (sw[s + (S.direction >> 2)]! >>> ((S.direction & 3) * 8)) & 3;
  let flags = (meta & 3) | (dir << F_DIR_SHIFT);
  if (kflags & ConnFlags.SEEN_LATE) flags |= F_LATE;
  if (kflags & ConnFlags.ASSURED) flags |= F_ASSURED;
  if (kflags & ConnFlags.ID_COOKIE) flags |= F_COOKIE;
  if (reason !== 0) flags |= closeCode(reason) << F_CLOSED_SHIFT;
  u[w + W_PID] = pid < 0 ? tw[t + T.pid]! : pid;
  u[w + W_NETNS] = tw[t + T.netns]!;
  u[w + W_PORTS] = tw[t + T.ports]!;
  const a = t + T.saddr;
  u[w + W_LADDR] = tw[a]!;
  u[w + W_LADDR + 1] = tw[a + 1]!;
  u[w + W_LADDR + 2] = tw[a + 2]!;
  u[w + W_LADDR + 3] = tw[a + 3]!;
  const d = t + T.daddr;
  u[w + W_RADDR] = tw[d]!;
  u[w + W_RADDR + 1] = tw[d + 1]!;
  u[w + W_RADDR + 2] = tw[d + 2]!;
  u[w + W_RADDR + 3] = tw[d + 3]!;
  if (p >= 0 && meta & F_TCP) {
    flags |= F_HAS_TCP;
    u[w + W_RETR] = sw[p + P.retr]!;
    u[w + W_RTT] = sw[p + P.rtt]!;
    u[w + W_RTTVAR] = sw[p + P.rttVar]!;
    u[w + W_SEGS_OUT] = sw[p + P.segsOut]!;
    u[w + W_SEGS_IN] = sw[p + P.segsIn]!;
    u[w + W_STATES] = sw[p + P.states]! & 0xffffff;
  } else {
    u[w + W_RETR] = 0;
    u[w + W_RTT] = 0;
    u[w + W_RTTVAR] = 0;
    u[w + W_SEGS_OUT] = 0;
    u[w + W_SEGS_IN] = 0;
    u[w + W_STATES] = 0;
  }
  u[w + W_FLAGS] = flags;
}

/** The 32-bit words of a buffer (aligned buffers are viewed, others copied). */
export function wordsOf(b: Uint8Array): Uint32Array {
  if (b.byteOffset % 4 === 0) return new Uint32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
  return new Uint32Array(Uint8Array.from(b).buffer, 0, b.byteLength >>> 2);
}

/** A closed connection waiting in the clients' queues: its row and its process name (read at close). */
export interface ClosedRow {
  readonly row: Float64Array;
  readonly command: string | undefined;
}

function newRow(): { f: Float64Array; u: Uint32Array } {
  const f = new Float64Array(ROW);
  return { f, u: new Uint32Array(f.buffer) };
}

/** A close record (struct conn, e.g. from the ring buffer) as a row (`live`: as a live connection, its reason ignored). */
export function rowFromConn(rec: Uint8Array, live = false): Float64Array {
  const w = wordsOf(rec);
  const { f, u } = newRow();
  writeRow(f, u, 0, w, CONN.tup, w, CONN.stats, CONN.tcp, -1, live ? 0 : rec[CONN.reason]! || 0xff);
  return f;
}

/** A UDP flow (tuple key, conn_stats value) as a row, closed with `reason` (0: live). */
export function rowFromFlow(key: Uint8Array, value: Uint8Array, reason: number): Float64Array {
  const { f, u } = newRow();
  writeRow(f, u, 0, wordsOf(key), 0, wordsOf(value), 0, -1, -1, reason);
  return f;
}

/** Process slot `j` of the socket record at word `r` of `w` as a row, closed with `reason` (0: live). */
export function rowFromRecord(w: Uint32Array, r: number, j: number, reason: number): Float64Array {
  const { f, u } = newRow();
  writeRow(f, u, 0, w, r + REC.tup, w, r + REC.slots + REC.slotWords * j, r + REC.tcp, w[r + REC.pids + j]!, reason);
  return f;
}

/**
 * A row's socket as a later close record of the same socket would name it:
 * protocol, netns, ports and addresses (its `key`; not the pid: a socket the kernel
 * sees anew at its destroy has no process), its id if that is the socket
 * cookie, and whether the kernel first saw it late.
 */
export function rowSocket(row: Float64Array): { key: string; cookie: bigint | undefined; seenLate: boolean } {
  const u = new Uint32Array(row.buffer, row.byteOffset, 2 * ROW);
  const flags = u[W_FLAGS]!;
  let key = `${flags & (F_TCP | F_V6)} ${u[W_NETNS]} ${u[W_PORTS]}`;
  for (let k = 0; k < 4; k++) key += ` ${u[W_LADDR + k]} ${u[W_RADDR + k]}`;
  const cookie = flags & F_COOKIE ? new BigUint64Array(row.buffer, row.byteOffset, 1)[0] : undefined;
  return { key, cookie, seenLate: (flags & F_LATE) !== 0 };
}

// ------------------------------------------------------------------ address text
/** Address text per 4 words, direct-mapped and bounded (16 Ki entries): the same few addresses recur in every snapshot. */
const ADDR_BITS = 14;
const addrWords = new Uint32Array(4 << ADDR_BITS);
const addrTag = new Uint8Array(1 << ADDR_BITS);
const addrText: (string | undefined)[] = new Array<string | undefined>(1 << ADDR_BITS).fill(undefined);

function addressText(u: Uint32Array, k: number, v6: boolean): string {
  const a = u[k]!;
  const b = u[k + 1]!;
  const c = u[k + 2]!;
  const d = u[k + 3]!;
  const tag = v6 ? 2 : 1;
  const h = Math.imul(a ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35) ^ Math.imul(d ^ tag, 0x27d4eb2f), 0x9e3779b1) >>> (32 - ADDR_BITS);
  const e = h * 4;
  if (addrTag[h] === tag && addrWords[e] === a && addrWords[e + 1] === b && addrWords[e + 2] === c && addrWords[e + 3] === d) return addrText[h]!;
  // Flattened now: a template literal is a rope that every later use would walk.
  const text = v6 ? ipv6FromWords(a, b, c, d) : ipv4FromWord(c);
  addrTag[h] = tag;
  addrWords[e] = a;
  addrWords[e + 1] = b;
  addrWords[e + 2] = c;
  addrWords[e + 3] = d;
  addrText[h] = text;
  return text;
}

// ------------------------------------------------------------------ the store and its views
/** Rows of one result: a slab (Float64Array, with Uint32/Int32/BigUint64 views of the same bytes) and its process names. */
export class RowStore {
  f!: Float64Array;
  u!: Uint32Array;
  i32!: Int32Array;
  b!: BigUint64Array;
  /** Rows written. */
  n = 0;
  /** Bumped by reset(): views of an older generation refuse to read. */
  gen = 0;
  /** Process names, by the rows' W_CMD index (0: none). */
  readonly commands: (string | undefined)[] = [undefined];
  #pidCmd = new Map<number, number>();
  #lastPid = -1;
  #lastCmd = 0;

  constructor(capacity: number) {
    this.#use(float64s(Math.max(1, capacity) * ROW));
  }

  #use(f: Float64Array): void {
    this.f = f;
    this.u = new Uint32Array(f.buffer, f.byteOffset, 2 * f.length);
    this.i32 = new Int32Array(f.buffer, f.byteOffset, 2 * f.length);
    this.b = new BigUint64Array(f.buffer, f.byteOffset, f.length);
  }

  /**
   * Empty again for the next call of the same client (its views of the
   * previous call become stale). The slab is kept for the client's life:
   * new memory costs a page fault per 4 KiB here, more than the rest of a
   * snapshot, and a slab freed and allocated again is what made RSS climb
   * under churn (slab-memory.ts). It is sized for the maps' capacity
   * (`capacity` rows, in pages of its own: only the rows written become
   * resident); once the rows written in it are four times what the last
   * call needed (`needed`), the pages past twice that go back to the kernel.
   */
  reset(needed: number): void {
    this.gen++;
    if (this.#highWater > 4 * needed + 4096) {
      const keep = 2 * needed + 4096;
      releaseFrom(this.f, keep * ROW);
      this.#highWater = keep;
    }
    this.n = 0;
    this.commands.length = 1;
    this.#pidCmd.clear();
    this.#lastPid = -1;
    this.#lastCmd = 0;
  }

  /** The most rows written into this slab. */
  #highWater = 0;

  /** Call after writing: keeps the high-water mark of rows written. */
  done(): void {
    if (this.n > this.#highWater) this.#highWater = this.n;
  }

  /** A store of the one row `row` (its bytes, not a copy). */
  static of(row: Float64Array): RowStore {
    const s = new RowStore(0);
    s.#use(row.byteOffset === 0 && row.length === ROW ? row : row.slice(0, ROW));
    s.n = 1;
    return s;
  }

  get capacity(): number {
    return this.f.length / ROW;
  }

  /** Room for `k` more rows (the slab doubles, copied, when short: sockets shared by several processes fill more rows than the maps have entries). */
  reserve(k: number): void {
    if ((this.n + k) * ROW <= this.f.length) return;
    const f = float64s(Math.max(this.n + k, this.capacity * 2) * ROW);
    f.set(this.f.subarray(0, this.n * ROW));
    this.#use(f);
  }

  /** Set row `i`'s process name from `name(pid)`, asked once per pid of this store. */
  nameRow(i: number, name: (pid: number) => string | undefined): void {
    const w = 2 * i * ROW;
    const pid = this.u[w + W_PID]!;
    if (pid !== this.#lastPid) {
      let k = this.#pidCmd.get(pid);
      if (k === undefined) {
        const c = pid === 0 ? undefined : name(pid);
        k = c === undefined ? 0 : this.commands.push(c) - 1;
        this.#pidCmd.set(pid, k);
      }
      this.#lastPid = pid;
      this.#lastCmd = k;
    }
    this.u[w + W_CMD] = this.#lastCmd;
  }

  /** Append a closed row with its process name. */
  pushClosed(c: ClosedRow): number {
    this.reserve(1);
    const i = this.n++;
    this.f.set(c.row, i * ROW);
    this.u[2 * i * ROW + W_CMD] = c.command === undefined ? 0 : this.commands.push(c.command) - 1;
    return i;
  }

  /** Row `i` as a row of its own (a copy), e.g. to queue it. */
  row(i: number): Float64Array {
    return this.f.slice(i * ROW, (i + 1) * ROW);
  }
}

/**
 * One connection of a snapshot, read from its row (every getter is an array
 * load; `tcp`, `delta` and `toObject()` make a small object per call). It
 * keeps its snapshot's slab alive (ROW_BYTES per connection of that
 * snapshot): keep `toObject()` when you keep a few connections of a large
 * snapshot for long.
 */
export class ConnectionView implements ClientConnection {
  // TS-private, not #private: #private accessors are not inlined on Node 20
  // (a getter cost 3x); `declare`: no class-field definitions either.
  private declare readonly st: RowStore;
  private declare readonly gen: number;
  /** Slot index of the row in the slab. */
  private declare readonly o: number;

  /** @internal rows come from the tracer. */
  constructor(store: RowStore, index: number) {
    this.st = store;
    this.gen = store.gen;
    this.o = index * ROW;
  }

  /** The store, if this view is still current (its client has not called again). */
  private s(): RowStore {
    const s = this.st;
    if (s.gen !== this.gen) stale();
    return s;
  }

  private flags(): number {
    return this.s().u[2 * this.o + W_FLAGS]!;
  }

  get id(): bigint {
    return this.s().b[this.o + S_ID]!;
  }
  get idIsCookie(): boolean {
    return (this.flags() & F_COOKIE) !== 0;
  }
  get protocol(): 'tcp' | 'udp' {
    return this.flags() & F_TCP ? 'tcp' : 'udp';
  }
  get family(): 'ipv4' | 'ipv6' {
    return this.flags() & F_V6 ? 'ipv6' : 'ipv4';
  }
  get pid(): number {
    return this.s().u[2 * this.o + W_PID]!;
  }
  get command(): string | undefined {
    return this.s().commands[this.s().u[2 * this.o + W_CMD]!];
  }
  get netns(): number {
    return this.s().u[2 * this.o + W_NETNS]!;
  }
  get localAddress(): string {
    return addressText(this.s().u, 2 * this.o + W_LADDR, (this.flags() & F_V6) !== 0);
  }
  get localPort(): number {
    return this.s().u[2 * this.o + W_PORTS]! & 0xffff;
  }
  get remoteAddress(): string {
    return addressText(this.s().u, 2 * this.o + W_RADDR, (this.flags() & F_V6) !== 0);
  }
  get remotePort(): number {
    return this.s().u[2 * this.o + W_PORTS]! >>> 16;
  }
  get direction(): Direction {
    return DIRECTIONS[(this.flags() >>> F_DIR_SHIFT) & 3]!;
  }
  get sentBytes(): number {
    return this.s().f[this.o + S_SENT]!;
  }
  get recvBytes(): number {
    return this.s().f[this.o + S_RECV]!;
  }
  get sentPackets(): number {
    return this.s().f[this.o + S_SENT_P]!;
  }
  get recvPackets(): number {
    return this.s().f[this.o + S_RECV_P]!;
  }
  get start(): number {
    return this.s().f[this.o + S_START]!;
  }
  get lastUpdate(): number {
    return this.s().f[this.o + S_LAST]!;
  }
  get seenLate(): boolean {
    return (this.flags() & F_LATE) !== 0;
  }
  get assured(): boolean {
    return (this.flags() & F_ASSURED) !== 0;
  }
  get tcp(): TcpInfo | undefined {
    if ((this.flags() & F_HAS_TCP) === 0) return undefined;
    const u = this.s().u;
    const w = 2 * this.o;
    const st = u[w + W_STATES]!;
    const state = st >>> 16;
    return {
      retransmits: u[w + W_RETR]!,
      rttUs: u[w + W_RTT]!,
      rttVarUs: u[w + W_RTTVAR]!,
      segsOut: u[w + W_SEGS_OUT]!,
      segsIn: u[w + W_SEGS_IN]!,
      states: statesOf(st & 0xffff),
      state: state ? STATE_NAMES[state] : undefined,
    };
  }
  get closed(): CloseReason | undefined {
    return CLOSE_NAMES[(this.flags() & CLOSED_MASK) >>> F_CLOSED_SHIFT];
  }
  get delta(): ConnectionDelta {
    const f = this.s().f;
    const o = this.o;
    return {
      sentBytes: f[o + S_DSENT]!,
      recvBytes: f[o + S_DRECV]!,
      sentPackets: f[o + S_DSENT_P]!,
      recvPackets: f[o + S_DRECV_P]!,
      retransmits: this.s().i32[2 * o + W_DRETR]!,
    };
  }

  /** Every field as a plain object of its own (no reference to the snapshot). */
  toObject(): ClientConnection {
    return {
      id: this.id,
      idIsCookie: this.idIsCookie,
      protocol: this.protocol,
      family: this.family,
      pid: this.pid,
      command: this.command,
      netns: this.netns,
      localAddress: this.localAddress,
      localPort: this.localPort,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      direction: this.direction,
      sentBytes: this.sentBytes,
      recvBytes: this.recvBytes,
      sentPackets: this.sentPackets,
      recvPackets: this.recvPackets,
      start: this.start,
      lastUpdate: this.lastUpdate,
      seenLate: this.seenLate,
      assured: this.assured,
      tcp: this.tcp,
      closed: this.closed,
      delta: this.delta,
    };
  }

  /** JSON: toObject() with `id` as a decimal string (JSON has no 64-bit integers). */
  toJSON(): Omit<ClientConnection, 'id'> & { id: string } {
    return { ...this.toObject(), id: this.id.toString() };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): ClientConnection {
    return this.toObject();
  }
}

function stale(): never {
  throw new TracerError('ERR_STALE_CONNECTION', "this connection's list was replaced by its client's next connections() call: keep toObject() (or toObjects()) of what you keep longer");
}

class ViewIterator implements IterableIterator<ConnectionView> {
  readonly #s: RowStore;
  readonly #gen: number;
  readonly #n: number;
  #i = 0;
  constructor(s: RowStore, gen: number, n: number) {
    this.#s = s;
    this.#gen = gen;
    this.#n = n;
  }
  next(): IteratorResult<ConnectionView> {
    const i = this.#i;
    if (i >= this.#n) return { value: undefined, done: true };
    if (this.#s.gen !== this.#gen) stale();
    this.#i = i + 1;
    return { value: new ConnectionView(this.#s, i), done: false };
  }
  [Symbol.iterator](): IterableIterator<ConnectionView> {
    return this;
  }
}

/**
 * The connections of one connections()/snapshot() call: live ones first, then
 * those closed since the client's previous call. Iterable (a fresh view per
 * connection), indexable with at(), and with the few array methods callers
 * use; toArray() gives a real array of the views, toObjects() plain copies.
 *
 * A list and its views read the client's slab, which that client's next call
 * refills: after it they throw (TracerError ERR_STALE_CONNECTION). Keep
 * toObject() / toObjects() of what must outlive the next call.
 */
export class ConnectionList implements Iterable<ConnectionView> {
  readonly #st: RowStore;
  readonly #gen: number;
  /** Number of connections. */
  readonly length: number;

  /** @internal lists come from the tracer. */
  constructor(store: RowStore) {
    this.#st = store;
    this.#gen = store.gen;
    this.length = store.n;
  }

  get #s(): RowStore {
    const s = this.#st;
    if (s.gen !== this.#gen) stale();
    return s;
  }

  /** Connection `i` (negative: from the end), or undefined out of range. */
  at(i: number): ConnectionView | undefined {
    const k = i < 0 ? this.length + i : i;
    return k >= 0 && k < this.length ? new ConnectionView(this.#s, k) : undefined;
  }

  [Symbol.iterator](): IterableIterator<ConnectionView> {
    return new ViewIterator(this.#s, this.#gen, this.length);
  }

  toArray(): ConnectionView[] {
    const s = this.#s;
    const out = new Array<ConnectionView>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = new ConnectionView(s, i);
    return out;
  }

  /** Plain objects of their own (toObject() of each): they outlive the next call. */
  toObjects(): ClientConnection[] {
    const s = this.#s;
    const out = new Array<ClientConnection>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = new ConnectionView(s, i).toObject();
    return out;
  }

  filter(pred: (c: ConnectionView, i: number) => unknown): ConnectionView[] {
    const s = this.#s;
    const out: ConnectionView[] = [];
    for (let i = 0; i < this.length; i++) {
      const c = new ConnectionView(s, i);
      if (pred(c, i)) out.push(c);
    }
    return out;
  }

  map<T>(fn: (c: ConnectionView, i: number) => T): T[] {
    const s = this.#s;
    const out = new Array<T>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = fn(new ConnectionView(s, i), i);
    return out;
  }

  find(pred: (c: ConnectionView, i: number) => unknown): ConnectionView | undefined {
    const s = this.#s;
    for (let i = 0; i < this.length; i++) {
      const c = new ConnectionView(s, i);
      if (pred(c, i)) return c;
    }
    return undefined;
  }

  some(pred: (c: ConnectionView, i: number) => unknown): boolean {
    return this.find(pred) !== undefined;
  }

  forEach(fn: (c: ConnectionView, i: number) => void): void {
    const s = this.#s;
    for (let i = 0; i < this.length; i++) fn(new ConnectionView(s, i), i);
  }

  toJSON(): ReturnType<ConnectionView['toJSON']>[] {
    return this.map((c) => c.toJSON());
  }

  [Symbol.for('nodejs.util.inspect.custom')](): ClientConnection[] {
    return this.toObjects();
  }
}
