// Several readers of one tracer: each client gets the connections closed
// since its own last call exactly once (a bounded queue of its own) and
// per-connection deltas against what it saw last time, kept in the order of
// its last call (counter-memo.ts), one memo for TCP and one for UDP.
import { CounterMemo } from './counter-memo.js';
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
  tcp: CounterMemo;
  udp: CounterMemo;
  /** The slab of its last call's list, refilled by the next. */
  rows: RowStore | undefined;
  lastCallMs: number;
}

/** Where a row keeps its counters (slots 1-4), their deltas and the retransmits. */
const LAYOUT = { row: ROW, counters: 1, delta: S_DSENT, retr: W_RETR, dRetr: W_DRETR };
/** Key words of a row: its id (two words) and pid; for UDP also netns, ports and both addresses. */
const TCP_KEY = [0, 1, W_PID];
const UDP_KEY = [0, 1, W_PID, W_NETNS, W_PORTS, W_LADDR, W_LADDR + 1, W_LADDR + 2, W_LADDR + 3, W_RADDR, W_RADDR + 1, W_RADDR + 2, W_RADDR + 3];

const isTcp = (s: RowStore, i: number): boolean => (s.u[2 * i * ROW + W_FLAGS]! & F_TCP) !== 0;

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
      this.#clients.set(name, { queue: [], dropped: 0, tcp: new CounterMemo(TCP_KEY, LAYOUT), udp: new CounterMemo(UDP_KEY, LAYOUT), rows: undefined, lastCallMs: nowMs });
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
    const n = live.n;
    const { tcp, udp } = cl;
    tcp.begin(n);
    udp.begin(n);
    for (let i = 0; i < n; i++) (isTcp(live, i) ? tcp : udp).live(live, i);
    tcp.resolve(live);
    udp.resolve(live);
    // Closed ones after the live: a connection both live and closed now gets its closed delta against its live counters.
    this.#drain(cl, live);
    live.done();
    tcp.finish();
    udp.finish();
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
    const tcpRows: number[] = [];
    const udpRows: number[] = [];
    for (const c of q) {
      const i = s.pushClosed(c);
      (isTcp(s, i) ? tcpRows : udpRows).push(i);
    }
    cl.tcp.closed(s, tcpRows);
    cl.udp.closed(s, udpRows);
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
