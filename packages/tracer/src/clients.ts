// Several readers of one tracer: each client gets the connections closed
// since its own last call exactly once (a bounded queue of its own) and
// per-connection deltas against what it saw last time, kept in compact
// tables of raw key words (counter-table.ts), one for TCP and one for UDP.
import { CounterTable, FIRST_MARK } from './counter-table.js';
import { type ClosedRow, ConnectionList, F_TCP, ROW, RowStore, S_DSENT, W_DRETR, W_FLAGS, W_LADDR, W_NETNS, W_PID, W_PORTS, W_RADDR, W_RETR } from './rows.js';

export interface ClientStats {
  name: string;
  /** Closed connections waiting for this client's next call. */
  queued: number;
  /** Closed connections this client will never see: its queue was full. */
  dropped: number;
  /** Date.now() of its last call (its registration, before the first). */
  lastCallMs: number;
}

interface Client {
  queue: ClosedRow[];
  dropped: number;
  /**
   * Previous counters per connection. TCP: keyed by its socket's id (the
   * cookie, or an id assigned at first sight: unique either way) and the
   * process (a socket has a counter slot per process). UDP: the flows of one
   * socket share its cookie, so by id, pid, netns, ports and both addresses.
   */
  tcp: CounterTable;
  udp: CounterTable;
  /** The mark of this client's current call. */
  mark: number;
  /** The slab of its last call's list, refilled by the next. */
  rows: RowStore | undefined;
  lastCallMs: number;
}

/** The table and key of row `i` of `s` (the key written into the table's key words). */
function keyOf(cl: Client, s: RowStore, i: number): CounterTable {
  const u = s.u;
  const w = 2 * i * ROW;
  const tcp = (u[w + W_FLAGS]! & F_TCP) !== 0;
  const t = tcp ? cl.tcp : cl.udp;
  const k = t.key;
  k[0] = u[w]!;
  k[1] = u[w + 1]!;
  k[2] = u[w + W_PID]!;
  if (!tcp) {
    k[3] = u[w + W_NETNS]!;
    k[4] = u[w + W_PORTS]!;
    for (let j = 0; j < 4; j++) {
      k[5 + j] = u[w + W_LADDR + j]!;
      k[9 + j] = u[w + W_RADDR + j]!;
    }
  }
  return t;
}

/** Row `i`'s delta against slot `slot` of `t` (none: -1, zero counters); with `store`, the slot (new: -slot - 1) takes the row's counters. */
function delta(t: CounterTable, slot: number, s: RowStore, i: number, store: boolean): void {
  const f = s.f;
  const o = i * ROW;
  const w = 2 * o;
  const v = t.f;
  const retr = s.u[w + W_RETR]!;
  const at = slot < 0 ? -1 : slot * t.stride + t.valAt;
  if (at < 0) {
    f[o + S_DSENT] = f[o + 1]!;
    f[o + S_DSENT + 1] = f[o + 2]!;
    f[o + S_DSENT + 2] = f[o + 3]!;
    f[o + S_DSENT + 3] = f[o + 4]!;
    s.i32[w + W_DRETR] = retr;
  } else {
    f[o + S_DSENT] = f[o + 1]! - v[at]!;
    f[o + S_DSENT + 1] = f[o + 2]! - v[at + 1]!;
    f[o + S_DSENT + 2] = f[o + 3]! - v[at + 2]!;
    f[o + S_DSENT + 3] = f[o + 4]! - v[at + 3]!;
    s.i32[w + W_DRETR] = retr - t.u[slot * t.stride * 2 + 1]!;
  }
  if (store) {
    const k = slot < 0 ? -slot - 1 : slot;
    const to = k * t.stride + t.valAt;
    v[to] = f[o + 1]!;
    v[to + 1] = f[o + 2]!;
    v[to + 2] = f[o + 3]!;
    v[to + 3] = f[o + 4]!;
    t.u[k * t.stride * 2 + 1] = retr;
  }
}

export class Clients {
  readonly #maxQueued: number;
  readonly #silentMs: number;
  readonly #clients = new Map<string, Client>();
  #expired = 0;

  /** `maxQueued`: closed connections kept per client; `silentMs`: a client silent that long is dropped. */
  constructor(maxQueued: number, silentMs: number) {
    this.#maxQueued = maxQueued;
    this.#silentMs = silentMs;
  }

  /** Register `name` now (its queue starts empty: it sees what closes from here on). */
  add(name: string, nowMs: number): void {
    if (!this.#clients.has(name)) {
      this.#clients.set(name, { queue: [], dropped: 0, tcp: new CounterTable(3), udp: new CounterTable(13), mark: FIRST_MARK, rows: undefined, lastCallMs: nowMs });
    }
  }

  /** A closed connection, for every client's next call (the row is shared, never written). */
  push(c: ClosedRow): void {
    for (const cl of this.#clients.values()) {
      if (cl.queue.length >= this.#maxQueued) cl.dropped++;
      else cl.queue.push(c);
    }
  }

  /**
   * Client `name`'s rows for its next call, empty (registering it if new):
   * its previous list's slab, reset (that list goes stale), or a new one.
   */
  rowsFor(name: string, nowMs: number, capacity: number, needed: number): RowStore {
    const cl = this.#touch(name, nowMs);
    if (cl.rows) cl.rows.reset(needed);
    else cl.rows = new RowStore(capacity);
    return cl.rows;
  }

  /**
   * Client `name`'s view: the `live` rows with deltas against its last call
   * (written into the rows), then the connections closed since (each once).
   * A new name is registered by its first call (nothing closed before it is
   * delivered). `live` is handed over: the list is made of its rows.
   *
   * Live rows first: a connection both live and closed in one call gets its
   * closed delta against its live counters, so a connection's deltas always
   * add up to its final counters. What was neither live nor closed now is
   * forgotten: the next sight of it starts from zero.
   */
  take(name: string, live: RowStore, nowMs: number): ConnectionList {
    const cl = this.#touch(name, nowMs);
    const mark = ++cl.mark;
    const n = live.n;
    // Sized once for the rows this call adds beyond what the table holds (all of them on the first
    // call): growing by steps leaves garbage that malloc keeps.
    cl.tcp.reserve(n - cl.tcp.size);
    for (let i = 0; i < n; i++) {
      const t = keyOf(cl, live, i);
      delta(t, t.upsert(mark), live, i, true);
    }
    // Closed ones before the sweep: a connection closed since the last call is not live now, and its delta is against what was seen then.
    this.#drain(cl, live);
    live.done();
    cl.tcp.sweep(mark);
    cl.udp.sweep(mark);
    return new ConnectionList(live);
  }

  /** Only the connections closed since client `name`'s last call (registering it if new), each once. */
  takeClosed(name: string, nowMs: number): ConnectionList {
    const cl = this.#touch(name, nowMs);
    const s = new RowStore(cl.queue.length);
    this.#drain(cl, s);
    return new ConnectionList(s);
  }

  /** Client `name` (registered if new), its call time now. */
  #touch(name: string, nowMs: number): Client {
    this.add(name, nowMs);
    const cl = this.#clients.get(name)!;
    cl.lastCallMs = nowMs;
    return cl;
  }

  /** The client's closed queue emptied into `s`, with deltas against what it last saw; each is forgotten. */
  #drain(cl: Client, s: RowStore): void {
    const q = cl.queue;
    if (q.length === 0) return;
    cl.queue = [];
    s.reserve(q.length);
    for (const c of q) {
      const i = s.pushClosed(c);
      const t = keyOf(cl, s, i);
      const slot = t.find();
      delta(t, slot, s, i, false);
      if (slot >= 0) t.remove(slot);
    }
  }

  /** Forget client `name` and its queue. */
  remove(name: string): void {
    this.#clients.delete(name);
  }

  /** Drop clients silent for longer than the limit; returns how many. */
  expire(nowMs: number): number {
    let n = 0;
    for (const [name, cl] of this.#clients) {
      if (nowMs - cl.lastCallMs > this.#silentMs) {
        this.#clients.delete(name);
        n++;
      }
    }
    this.#expired += n;
    return n;
  }

  /** Clients dropped for silence since start. */
  get expired(): number {
    return this.#expired;
  }

  stats(): ClientStats[] {
    return [...this.#clients].map(([name, cl]) => ({ name, queued: cl.queue.length, dropped: cl.dropped, lastCallMs: cl.lastCallMs }));
  }

  /** Closed connections dropped over every client since start (clients still registered). */
  get dropped(): number {
    let n = 0;
    for (const cl of this.#clients.values()) n += cl.dropped;
    return n;
  }
}
