// The embedded broker's transport: an in-memory EventBus in one process. Each trigger owns its
// queue: events with the same `partitionkey` go to its subscriber one at a time in publish order,
// different keys run concurrently up to a bound. What happens to one event on one trigger
// (retries, dead letter, fusion of replies into in-process triggers) is the Knative engine's
// (connectors/knative/engine.ts); this file only queues, orders and keeps what the engine keeps:
// an event whose dead-letter sink is down stays at the head of its lane and is tried again.
// Not durable: what is queued when the process ends is lost (Kafka is the durable adapter),
// unless `keep` is set: then what stopping triggers leave goes there (connectors/knative/spool.ts).

import type { CloudEvent } from '../../events/cloudevent.ts';
import { MooringError } from '../../events/errors.ts';
import type {
  BusCapabilities, DeliveryStats, EventBus, SubscriberInput, TriggerSpec,
} from '../../functions/ports/bus.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import { realSleep, type Sleep } from '../knative/delivery.ts';
import { Fusion, newDeliveryStats, TriggerEngine } from '../knative/engine.ts';
import { Fifo } from './fifo.ts';
import { TriggerRunner, type Envelope, type RunnerHost } from './runner.ts';

export interface InMemoryEventBusOptions {
  /** Most events accepted and not yet handled by every matching trigger (default 10 000). */
  capacity?: number;
  /**
   * How long a full bus may go without making room before the publishes waiting for it are
   * refused with MOORING_BUS_FULL (default 2000 ms; 0 refuses at once). Waiting is the
   * backpressure: the MQTT gateway stops reading from a connection whose publishes are not yet
   * accepted, so a fast device slows down instead of losing its QoS 0 messages or having its
   * connection closed. The limit is on the bus's progress, not on one publish's wait: with many
   * connections the queue of waiting publishes is long, and while the bus drains they all get
   * their turn; only a bus that stopped draining (a stuck subscriber) refuses them.
   */
  fullWaitMs?: number;
  /** Partition keys delivered at the same time, per trigger (default 16). */
  concurrency?: number;
  /** Waits between retries; tests pass a fake. */
  sleep?: Sleep;
  /** Hand replies to in-process triggers without a queue hop (default true). */
  fusion?: boolean;
  logger?: Logger;
}

/** A publish waiting for room in a full bus. */
interface Waiter {
  readonly events: CloudEvent | CloudEvent[];
  readonly count: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class InMemoryEventBus implements EventBus, RunnerHost {
  private readonly capacity: number;
  private readonly fullWaitMs: number;
  /** Publishes waiting for room, in arrival order (later publishes queue behind them: order holds). */
  private readonly waiters = new Fifo<Waiter>();
  /** Runs while publishes wait: refuses them if no room was made for fullWaitMs. */
  private stallTimer: NodeJS.Timeout | undefined;
  /** When room was last made for a waiting publish (or waiting began). */
  private lastProgress = 0;
  private readonly concurrency: number;
  private readonly sleep: Sleep;
  private readonly logger: Logger;
  private readonly deliveryStats = newDeliveryStats();
  private readonly fusion: Fusion;
  readonly capabilities: BusCapabilities = { kind: 'memory', spool: this };
  private readonly runners = new Map<string, TriggerRunner>();
  /** The runners as an array for the publish loop (rebuilt on add/remove, not per event). */
  private active: TriggerRunner[] = [];
  private pending = 0;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];
  /** Receives each event a stopping trigger could not deliver (the spool); unset, it is dropped. */
  keep: ((trigger: string, event: CloudEvent) => void) | undefined;
  /** The runners being stopped by close(): a late reply still reaches their `keep`. */
  private stopping: TriggerRunner[] = [];

  constructor(options: InMemoryEventBusOptions = {}) {
    this.capacity = options.capacity ?? 10_000;
    this.fullWaitMs = options.fullWaitMs ?? 2000;
    this.concurrency = options.concurrency ?? 16;
    if (!(this.capacity > 0) || !(this.concurrency > 0)) throw new Error('capacity and concurrency must be positive');
    this.sleep = options.sleep ?? realSleep;
    this.logger = options.logger ?? silentLogger;
    this.fusion = new Fusion(() => (this.closed ? [] : this.engines), options.fusion ?? true, this.deliveryStats);
  }

  /** The engines of the active triggers, for fusion (rebuilt with `active`). */
  private engines: TriggerEngine[] = [];

  stats(): DeliveryStats { return { ...this.deliveryStats }; }

  /** Events accepted and not yet finished by every trigger they matched. */
  get queued(): number { return this.pending; }

  publish(events: CloudEvent | CloudEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new MooringError('MOORING_UNAVAILABLE', 'the event bus is closed'));
    const count = Array.isArray(events) ? events.length : 1;
    if (this.waiters.length === 0 && this.pending + count <= this.capacity) {
      this.accept(events);
      return Promise.resolve();
    }
    if (this.fullWaitMs === 0 || count > this.capacity) return Promise.reject(this.fullError());
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ events, count, resolve, reject });
      if (this.stallTimer === undefined) {
        this.lastProgress = Date.now();
        this.stallTimer = setTimeout(this.checkStall, this.fullWaitMs);
      }
    });
  }

  /** No room made for fullWaitMs: every waiting publish is refused; else look again later. */
  private readonly checkStall = (): void => {
    this.stallTimer = undefined;
    if (this.waiters.length === 0) return;
    const quiet = Date.now() - this.lastProgress;
    if (quiet < this.fullWaitMs) {
      this.stallTimer = setTimeout(this.checkStall, this.fullWaitMs - quiet);
      return;
    }
    const err = this.fullError();
    for (let w = this.waiters.shift(); w !== undefined; w = this.waiters.shift()) w.reject(err);
  };

  private fullError(): MooringError {
    return new MooringError('MOORING_BUS_FULL', `the event bus holds ${this.pending} events (capacity ${this.capacity})`);
  }

  /** Nothing of `key` waits for room, is queued or in delivery (a running lane stays until its replies were routed). */
  quiet(key: string): boolean {
    if (this.closed || this.waiters.length > 0) return false;
    const runners = this.active;
    for (let i = 0; i < runners.length; i++) if ((runners[i] as TriggerRunner).holds(key)) return false;
    return true;
  }

  /** Accepts waiting publishes, oldest first, while there is room. */
  private admitWaiters(): void {
    for (let w = this.waiters.peek(); w !== undefined; w = this.waiters.peek()) {
      if (this.pending + w.count > this.capacity) return;
      this.waiters.shift();
      this.accept(w.events);
      w.resolve();
    }
  }

  /**
   * Replies skip the capacity check: they come from work the bus already accepted, and refusing
   * them could deadlock a full bus whose in-flight deliveries wait to hand over their replies.
   */
  reenter(events: CloudEvent | CloudEvent[]): void {
    if (this.closed) {
      let dropped = 0;
      for (const e of Array.isArray(events) ? events : [events]) {
        const kept = this.stopping.filter((r) => r.match(e) && this.leftover(r.engine.id, e)).length;
        if (kept === 0) dropped++;
      }
      if (dropped > 0) this.logger.warn({ count: dropped }, 'reply dropped: the event bus is closed');
      return;
    }
    this.accept(events);
  }

  private accept(events: CloudEvent | CloudEvent[]): void {
    if (Array.isArray(events)) {
      for (const event of events) this.route(event);
    } else {
      this.route(events);
    }
  }

  /** A fresh envelope for one trigger's copy of an event, counted against capacity. */
  envelope(event: CloudEvent): Envelope {
    this.pending++;
    return { event, remaining: 1 };
  }

  private route(event: CloudEvent): void {
    const runners = this.active;
    let envelope: Envelope | undefined;
    for (let i = 0; i < runners.length; i++) {
      const runner = runners[i] as TriggerRunner;
      if (!runner.match(event)) continue;
      if (envelope === undefined) {
        envelope = { event, remaining: 0 };
        this.pending++;
      }
      envelope.remaining++;
      runner.enqueue(envelope);
    }
  }

  /**
   * A reply: handed at once, in the caller's lane, to the triggers serving it when all are
   * in-process functions (the engine's Fusion); what else must see it re-enters the broker. An
   * event a fused trigger kept (its dead-letter sink down) is queued on that trigger.
   */
  async handOver(events: readonly CloudEvent[]): Promise<void> {
    const r = await this.fusion.run(events, (engine, event) => {
      const runner = this.runners.get(engine.id);
      if (runner) runner.keep(event);
      else this.leftover(engine.id, event);
    });
    if (r.kind === 'done' && r.publish.length > 0) this.reenter(r.publish);
  }

  /** A stopping trigger's undelivered event: to `keep`; true if kept, false if dropped. */
  leftover(trigger: string, event: CloudEvent): boolean {
    this.keep?.(trigger, event);
    return this.keep !== undefined;
  }

  /** Enqueues a spooled event into one trigger (no filter, no capacity check); false if there is none. */
  restore(trigger: string, event: CloudEvent): boolean {
    const runner = this.runners.get(trigger);
    if (!runner || this.closed) return false;
    runner.enqueue(this.envelope(event));
    return true;
  }

  /** Called by a runner when it is done with (or drops) an envelope. */
  settle(envelope: Envelope): void {
    if (--envelope.remaining !== 0) return;
    --this.pending;
    if (this.waiters.length > 0) {
      this.lastProgress = Date.now(); // room was made
      this.admitWaiters();
    }
    if (this.pending === 0 && this.idleWaiters.length > 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /**
   * Resolves once nothing is queued or in delivery (replies included): for tests and for a
   * caller that wants the embedded pipeline settled.
   */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise<void>((resolve) => { this.idleWaiters.push(resolve); });
  }

  async addTrigger(trigger: TriggerSpec, subscriber: SubscriberInput, deadLetter?: SubscriberInput): Promise<void> {
    if (this.closed) throw new MooringError('MOORING_UNAVAILABLE', 'the event bus is closed');
    const id = `${trigger.namespace}/${trigger.name}`;
    if (this.runners.has(id)) throw new Error(`trigger ${id} is already added; remove it first`);
    const engine = new TriggerEngine(trigger, subscriber, deadLetter, {
      sleep: this.sleep, logger: this.logger.child({ trigger: id }), stats: this.deliveryStats,
    });
    this.runners.set(id, new TriggerRunner(this, engine, this.concurrency));
    this.rebuild();
  }

  private rebuild(): void {
    this.active = [...this.runners.values()];
    this.engines = this.active.map((r) => r.engine);
  }

  async removeTrigger(namespace: string, name: string): Promise<void> {
    const id = `${namespace}/${name}`;
    const runner = this.runners.get(id);
    if (!runner) return;
    this.runners.delete(id);
    this.rebuild();
    await runner.stop();
  }

  /** Stops: retry waits end, in-flight attempts finish; what is queued or abandoned goes to `keep` (else dropped). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    for (let w = this.waiters.shift(); w !== undefined; w = this.waiters.shift()) {
      w.reject(new MooringError('MOORING_UNAVAILABLE', 'the event bus is closed'));
    }
    const runners = this.active;
    this.stopping = runners;
    this.runners.clear();
    this.rebuild();
    await Promise.all(runners.map((r) => r.stop()));
  }
}
