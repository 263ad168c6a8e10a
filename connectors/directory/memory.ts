// The in-memory ConnectionDirectory (functions/ports/directory.ts): embedded mode, and several
// gateways of one process in tests. No timers: leases are compared with the injected clock when
// the directory is asked, so a test moves a fake clock and calls `reap`. Losses reach a listening
// instance at once (a microtask later), else with its next refresh.

import type {
  ClaimOptions, ClaimOutcome, ConnectionDirectory, ConnectionEntry, ConnectionRef, LostConnection,
} from '../../functions/ports/directory.ts';
import { systemClock, type Clock } from '../../functions/ports/runtime.ts';

export interface MemoryDirectoryOptions {
  /** Lease lifetime after the last refresh (default 10 000 ms, Drogue's session timeout). */
  ttlMs?: number;
  clock?: Clock;
}

interface Waiter {
  key: string;
  token: string;
  resolve: (released: boolean) => void;
  timer: NodeJS.Timeout;
}

const key = (application: string, device: string): string => `${application}\u0000${device}`;

export class InMemoryConnectionDirectory implements ConnectionDirectory {
  readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly entries = new Map<string, ConnectionEntry>();
  /** instance → lease expiry (epoch ms). */
  private readonly leases = new Map<string, number>();
  /** Losses not yet heard, per instance. */
  private readonly pending = new Map<string, LostConnection[]>();
  private readonly listeners = new Map<string, Set<(lost: LostConnection) => void>>();
  private waiters: Waiter[] = [];

  constructor(options: MemoryDirectoryOptions = {}) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.clock = options.clock ?? systemClock;
  }

  private alive(instance: string): boolean {
    const until = this.leases.get(instance);
    return until !== undefined && until > this.clock.now();
  }

  private renew(instance: string): void {
    this.leases.set(instance, this.clock.now() + this.ttlMs);
  }

  async refresh(instance: string): Promise<void> {
    this.renew(instance);
    this.flush(instance);
    this.wake();
  }

  async claim(entry: ConnectionEntry, options: ClaimOptions = {}): Promise<ClaimOutcome> {
    const k = key(entry.application, entry.device);
    const cur = this.entries.get(k);
    this.renew(entry.instance);
    if (cur === undefined || cur.instance === entry.instance) {
      this.entries.set(k, entry);
      return { claimed: true };
    }
    if (!this.alive(cur.instance)) {
      this.entries.set(k, entry);
      this.wake();
      return { claimed: true, orphan: cur };
    }
    if (options.force === true) {
      this.entries.set(k, entry);
      this.tell(cur.instance, { entry: cur, farewell: false });
      this.wake();
      return { claimed: true, orphan: cur };
    }
    this.tell(cur.instance, { entry: cur, farewell: true });
    return { claimed: false, holder: cur };
  }

  async release(ref: ConnectionRef): Promise<boolean> {
    const k = key(ref.application, ref.device);
    const cur = this.entries.get(k);
    if (cur === undefined || cur.instance !== ref.instance || cur.token !== ref.token) return false;
    this.entries.delete(k);
    this.wake();
    return true;
  }

  async lookup(application: string, device: string): Promise<ConnectionEntry | undefined> {
    const cur = this.entries.get(key(application, device));
    return cur !== undefined && this.alive(cur.instance) ? cur : undefined;
  }

  waitReleased(application: string, device: string, token: string, timeoutMs: number): Promise<boolean> {
    const k = key(application, device);
    if (this.releasedNow(k, token)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const w: Waiter = {
        key: k, token, resolve,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          resolve(this.releasedNow(k, token));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  async reap(): Promise<ConnectionEntry[]> {
    const dead = new Set<string>();
    for (const instance of this.leases.keys()) if (!this.alive(instance)) dead.add(instance);
    if (dead.size === 0) return [];
    const out: ConnectionEntry[] = [];
    for (const [k, e] of this.entries) {
      if (!dead.has(e.instance)) continue;
      this.entries.delete(k);
      out.push(e);
      // Should the instance come back, it ends these connections without a word.
      this.queueLoss(e.instance, { entry: e, farewell: false });
    }
    for (const instance of dead) this.leases.delete(instance);
    this.wake();
    return out;
  }

  listen(instance: string, listener: (lost: LostConnection) => void): () => void {
    let set = this.listeners.get(instance);
    if (set === undefined) this.listeners.set(instance, (set = new Set()));
    set.add(listener);
    queueMicrotask(() => this.flush(instance));
    return () => { set.delete(listener); };
  }

  private releasedNow(k: string, token: string): boolean {
    const cur = this.entries.get(k);
    return cur === undefined || cur.token !== token || !this.alive(cur.instance);
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (!this.releasedNow(w.key, w.token)) return true;
      clearTimeout(w.timer);
      w.resolve(true);
      return false;
    });
  }

  private queueLoss(instance: string, lost: LostConnection): void {
    const list = this.pending.get(instance);
    if (list === undefined) this.pending.set(instance, [lost]);
    else list.push(lost);
  }

  private tell(instance: string, lost: LostConnection): void {
    this.queueLoss(instance, lost);
    if (this.listeners.get(instance)?.size) queueMicrotask(() => this.flush(instance));
  }

  private flush(instance: string): void {
    const set = this.listeners.get(instance);
    const list = this.pending.get(instance);
    if (set === undefined || set.size === 0 || list === undefined) return;
    this.pending.delete(instance);
    for (const lost of list) for (const l of set) l(lost);
  }
}
