// Command waiting (`ct`): a request that published an event waits a few seconds for a command for
// its device. The wait starts before the event is published (so a command sent in reaction to it
// is not missed; Drogue subscribed only after) and, while it lasts, the device is registered in
// the ConnectionDirectory under this instance, so command-dispatch routes its commands here: the
// instance's command Trigger offers each routed command to `offer` first.
//
// Drogue's filter: a request with `as` waits for commands to that device through this gateway; a
// request without `as` waits for any command whose connection is the sender (its own, and those
// of the devices it is a gateway for). A device already held by a live connection (MQTT, here or
// on another instance) is not claimed away from it: the wait then only sees what reaches this
// instance.

import { randomUUID } from 'node:crypto';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { CommandExt } from '../../events/types.ts';
import type { ResolvedHttpOptions } from './options.ts';

export interface WaitedCommand {
  readonly name: string;
  /** The device the command is for (a gateway may get those of its devices). */
  readonly device: string;
  readonly payload: Uint8Array;
  readonly contentType: string | undefined;
}

interface Waiter {
  readonly device: string | undefined;
  resolve(command: WaitedCommand | undefined): void;
}

interface Claim {
  /** Set once this instance holds the entry (undefined: another connection has it). */
  token: string | undefined;
  ready: Promise<void>;
  /** Waiters of the key that share the claim. */
  refs: number;
}

const keyOf = (application: string, connection: string): string => `${application}\u0000${connection}`;

export interface Wait {
  /** The command, or undefined after the timeout or a cancel. */
  readonly command: Promise<WaitedCommand | undefined>;
  /** Ends the wait at once (the client went away); idempotent. */
  cancel(): void;
}

export class CommandWaiters {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly claims = new Map<string, Claim>();
  private timer: NodeJS.Timeout | undefined;
  private readonly unlisten: (() => void) | undefined;

  constructor(private readonly opts: ResolvedHttpOptions) {
    const { directory, instanceId } = opts;
    // Another instance's connection of the device takes it: give the entry up at once.
    this.unlisten = directory?.listen(instanceId, (lost) => {
      const key = keyOf(lost.entry.application, lost.entry.device);
      const claim = this.claims.get(key);
      if (claim === undefined || claim.token !== lost.entry.token) return;
      claim.token = undefined;
      void directory.release({ ...lost.entry }).catch(() => undefined);
    });
  }

  /** Requests waiting now (tests, stats). */
  get size(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /**
   * Starts waiting for a command to `connection` (the sender), only for `device` when given.
   * Resolves once the directory knows this instance holds the connection (or that another does).
   */
  async start(application: string, connection: string, device: string | undefined, timeoutMs: number): Promise<Wait> {
    const key = keyOf(application, connection);
    let settle!: (c: WaitedCommand | undefined) => void;
    const command = new Promise<WaitedCommand | undefined>((resolve) => { settle = resolve; });
    let done = false;
    const waiter: Waiter = { device, resolve: (c) => finish(c) };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const finish = (c: WaitedCommand | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const set = this.waiters.get(key);
      set?.delete(waiter);
      if (set?.size === 0) this.waiters.delete(key);
      this.unclaim(application, connection);
      settle(c);
    };
    let set = this.waiters.get(key);
    if (set === undefined) this.waiters.set(key, (set = new Set()));
    set.add(waiter);
    await this.claim(application, connection);
    return { command, cancel: () => finish(undefined) };
  }

  /** A command routed to this instance: true when a waiting request took it. */
  offer(event: CloudEvent): boolean {
    const application = event.extensions[CommandExt.application];
    const device = event.extensions[CommandExt.device];
    if (typeof application !== 'string' || typeof device !== 'string') return false;
    const connection = String(event.extensions[CommandExt.target] ?? device);
    const set = this.waiters.get(keyOf(application, connection));
    if (set === undefined) return false;
    const command: WaitedCommand = {
      name: event.subject ?? String(event.extensions[CommandExt.command] ?? ''),
      device, payload: event.data ?? new Uint8Array(0), contentType: event.datacontenttype,
    };
    let taken = false;
    // Every matching request gets it (Drogue's command bus reached every subscriber).
    for (const w of [...set]) {
      if (w.device !== undefined && w.device !== device) continue;
      w.resolve(command);
      taken = true;
    }
    return taken;
  }

  private async claim(application: string, connection: string): Promise<void> {
    const { directory, instanceId, logger } = this.opts;
    if (directory === undefined) return;
    const key = keyOf(application, connection);
    const have = this.claims.get(key);
    if (have !== undefined) { have.refs++; await have.ready; return; }
    const mine: Claim = { token: undefined, refs: 1, ready: Promise.resolve() };
    this.claims.set(key, mine);
    mine.ready = (async () => {
      try {
        // A live connection (maybe this instance's MQTT session) keeps the device.
        if (await directory.lookup(application, connection) !== undefined) return;
        const token = randomUUID();
        const r = await directory.claim({ application, device: connection, instance: instanceId, token });
        if (r.claimed) { mine.token = token; this.keepLease(); }
      } catch (err) {
        logger.warn({ err: err instanceof Error ? err.message : String(err), device: connection }, 'http: connection directory claim failed');
      }
    })();
    await mine.ready;
  }

  private unclaim(application: string, connection: string): void {
    const key = keyOf(application, connection);
    const claim = this.claims.get(key);
    if (claim === undefined || --claim.refs > 0) return;
    this.claims.delete(key);
    const { directory, instanceId, logger } = this.opts;
    // After the claim settled: a claim still under way when the wait ended is released too.
    void claim.ready.then(() => claim.token === undefined ? false
      : directory?.release({ application, device: connection, instance: instanceId, token: claim.token })).catch((err: unknown) =>
      logger.warn({ err: err instanceof Error ? err.message : String(err), device: connection }, 'http: connection directory release failed'));
    if (this.claims.size === 0 && this.timer !== undefined) { clearInterval(this.timer); this.timer = undefined; }
  }

  /** While it holds entries, the instance renews its lease (the MQTT gateway does too when it runs). */
  private keepLease(): void {
    const { directory, instanceId } = this.opts;
    if (directory === undefined || this.timer !== undefined) return;
    this.timer = setInterval(() => { void directory.refresh(instanceId).catch(() => undefined); }, Math.max(1, Math.floor(directory.ttlMs / 3)));
    this.timer.unref();
  }

  close(): void {
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.resolve(undefined);
    if (this.timer !== undefined) clearInterval(this.timer);
    this.unlisten?.();
  }
}
