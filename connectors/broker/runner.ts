// One trigger's queue in the embedded broker (connectors/broker/memory.ts): events of one
// `partitionkey` one at a time in publish order, different keys concurrently up to a bound; an
// event the engine keeps (its dead-letter sink down) stays at the head of its lane.

import { partitionKey, type CloudEvent } from '../../events/cloudevent.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import type { TriggerEngine } from '../knative/engine.ts';
import { Fifo } from './fifo.ts';

/** One published event shared by the triggers it matched; counts against capacity until all are done. */
export interface Envelope {
  readonly event: CloudEvent;
  remaining: number;
}

/** The events of one partition key waiting for (or in) delivery on one trigger. */
export interface Lane {
  readonly key: string | undefined;
  readonly items: Fifo<Envelope>;
  /** Rounds the head event has been kept (its dead-letter sink down); 0 otherwise. */
  kept: number;
}

/** What a runner needs from its bus. */
export interface RunnerHost {
  /** A stopping trigger's undelivered event: kept (spool) or dropped; true if kept. */
  leftover(trigger: string, event: CloudEvent): boolean;
  /** A new envelope for an event re-entering one trigger (restore, requeue). */
  envelope(event: CloudEvent): Envelope;
  /** Hands replies to the triggers they match (fusion or publish). */
  handOver(replies: readonly CloudEvent[]): Promise<void>;
  /** This trigger is done with the envelope (capacity bookkeeping). */
  settle(envelope: Envelope): void;
  readonly keep: ((trigger: string, event: CloudEvent) => void) | undefined;
}

/** One trigger's queueing: per-key lanes, a ready queue, a concurrency bound. */
export class TriggerRunner {
  readonly match: TriggerEngine['match'];
  private readonly lanes = new Map<string, Lane>();
  private readonly ready = new Fifo<Lane>();
  private readonly logger: Logger;
  private running = 0;
  private scheduled = false;
  private stopped = false;
  private idle: (() => void) | undefined;
  private readonly pumpNow = (): void => { this.scheduled = false; this.pump(); };

  constructor(
    private readonly bus: RunnerHost,
    readonly engine: TriggerEngine,
    private readonly concurrency: number,
  ) {
    this.match = engine.match;
    this.logger = engine.logger;
  }

  enqueue(envelope: Envelope): void {
    const key = partitionKey(envelope.event);
    if (key !== undefined) {
      const lane = this.lanes.get(key);
      if (lane) {
        // Running, waiting in `ready` or kept: it picks this up after the events before it.
        lane.items.push(envelope);
        return;
      }
    }
    const lane: Lane = { key, items: new Fifo<Envelope>(), kept: 0 };
    lane.items.push(envelope);
    if (key !== undefined) this.lanes.set(key, lane);
    this.ready.push(lane);
    // Deliver from a microtask: a subscriber never runs inside the publisher's call.
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.pumpNow);
    }
  }

  /**
   * Whether events of `key` are queued, kept or in delivery here. A lane is forgotten only after
   * its head's replies were handed over, so a quiet key has nothing left in this Trigger's chain.
   */
  holds(key: string): boolean {
    return this.lanes.has(key);
  }

  /** An event a fused delivery kept: it joins this trigger's queue, counted like a published one. */
  keep(event: CloudEvent): void {
    if (this.stopped) {
      if (!this.bus.leftover(this.engine.id, event)) this.logger.warn({ id: event.id }, 'event dropped: the trigger stopped');
      return;
    }
    this.enqueue(this.bus.envelope(event));
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.ready.length > 0) {
      const lane = this.ready.shift() as Lane;
      this.running++;
      void this.run(lane);
    }
  }

  /**
   * Delivers the lane's head event, then puts the lane back at the end of the ready queue. A kept
   * head stays where it is; the lane (and the later events of its key) waits out the engine's pause.
   */
  private async run(lane: Lane): Promise<void> {
    const envelope = lane.items.peek() as Envelope;
    let kept = false;
    try {
      const outcome = await this.engine.deliver(envelope.event);
      if (outcome.kind === 'done') {
        if (outcome.replies.length > 0) await this.bus.handOver(outcome.replies);
      } else if (outcome.kind === 'kept' && !this.stopped) {
        kept = true;
      } else {
        // Aborted, or kept by a trigger that is stopping: not final, so it goes to `keep`.
        const spooled = this.bus.leftover(this.engine.id, envelope.event);
        this.logger.warn({ id: envelope.event.id }, spooled ? 'delivery abandoned: the trigger stopped; event kept' : 'delivery abandoned: the trigger stopped');
      }
    } catch (e) {
      this.logger.error({ err: e, id: envelope.event.id }, 'delivery failed unexpectedly');
    } finally {
      if (!kept) {
        lane.items.shift();
        lane.kept = 0;
        this.bus.settle(envelope);
      }
      this.running--;
      if (this.stopped) {
        this.drop(lane);
      } else if (kept) {
        this.later(lane);
      } else if (lane.items.length > 0) {
        this.ready.push(lane);
      } else if (lane.key !== undefined) {
        this.lanes.delete(lane.key);
      }
      this.pump();
      if (this.running === 0 && this.idle) this.idle();
    }
  }

  /** A kept lane goes back to `ready` after the engine's pause (a keyless lane is held here). */
  private later(lane: Lane): void {
    lane.kept++;
    this.held.add(lane);
    void this.engine.pause(lane.kept).then(() => {
      if (!this.held.delete(lane)) return; // stop() took its events
      this.ready.push(lane);
      this.pump();
    });
  }

  /** Lanes waiting out a kept event's pause: neither ready nor running, so stop() takes them. */
  private readonly held = new Set<Lane>();

  /** Settles the lane's queued events, kept (or dropped) in order; returns how many. */
  private drop(lane: Lane): number {
    let n = 0;
    for (let e = lane.items.shift(); e !== undefined; e = lane.items.shift(), n++) {
      this.bus.leftover(this.engine.id, e.event);
      this.bus.settle(e);
    }
    return n;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.engine.stop();
    // Every lane is ready, held (a kept head waiting out its pause) or running; a running lane's
    // rest is taken by run() after its head, so a key's events reach `keep` in order.
    let left = 0;
    for (const lane of this.drain(this.ready)) left += this.drop(lane);
    for (const lane of this.held) left += this.drop(lane);
    this.held.clear();
    for (const lane of this.lanes.values()) left += lane.items.length;
    this.lanes.clear();
    if (left > 0) {
      this.logger.warn({ [this.bus.keep ? 'kept' : 'dropped']: left, trigger: this.engine.id }, 'trigger stopped with queued events');
    }
    if (this.running > 0) await new Promise<void>((resolve) => { this.idle = resolve; });
  }

  private *drain(fifo: Fifo<Lane>): Generator<Lane> {
    for (let lane = fifo.shift(); lane !== undefined; lane = fifo.shift()) yield lane;
  }
}
