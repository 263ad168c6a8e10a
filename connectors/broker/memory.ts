// The embedded broker: an in-memory EventBus applying Knative Broker/Trigger semantics in one
// process. Each trigger owns its queue: events with the same `partitionkey` go to its subscriber
// one at a time in publish order, different keys run concurrently up to a bound; failures retry
// with the trigger's backoff and end in its dead-letter sink; replies re-enter the broker, or,
// when every trigger matching a reply is an in-process function, are handed straight to those
// triggers' delivery inside the lane that produced them ("fusion": the same events, the same
// delivery policy and dead letters, the same per-key order, one queue round-trip less).
// Not durable: what is queued when the process ends is lost (Kafka is the durable adapter).

import { setMaxListeners } from 'node:events';
import { partitionKey, type CloudEvent } from '../../events/cloudevent.ts';
import { MooringError } from '../../events/errors.ts';
import type { EventBus, Subscriber, TriggerSpec } from '../../functions/ports/bus.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import {
  compileDelivery, deadLetterEvent, deliverWithRetry, destinationAddress, failureData, realSleep,
  type DeliverOptions, type DeliveryPolicy, type Sleep,
} from '../knative/delivery.ts';
import { compileTriggerFilter, type EventPredicate } from '../knative/filters.ts';
import { isInProcessFunction } from '../knative/resolver.ts';

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
  logger?: Logger;
}

/** A publish waiting for room in a full bus. */
interface Waiter {
  readonly events: CloudEvent | CloudEvent[];
  readonly count: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** One published event shared by the triggers it matched; counts against capacity until all are done. */
interface Envelope {
  readonly event: CloudEvent;
  remaining: number;
}

/** The events of one partition key waiting for (or in) delivery on one trigger. */
interface Lane {
  readonly key: string | undefined;
  readonly items: Fifo<Envelope>;
}

/** Array-backed FIFO with O(1) shift. */
class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get length(): number { return this.items.length - this.head; }

  push(item: T): void { this.items.push(item); }

  peek(): T | undefined { return this.head < this.items.length ? this.items[this.head] : undefined; }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class InMemoryEventBus implements EventBus {
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
  private readonly runners = new Map<string, TriggerRunner>();
  /** The runners as an array for the publish loop (rebuilt on add/remove, not per event). */
  private active: TriggerRunner[] = [];
  private pending = 0;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(options: InMemoryEventBusOptions = {}) {
    this.capacity = options.capacity ?? 10_000;
    this.fullWaitMs = options.fullWaitMs ?? 2000;
    this.concurrency = options.concurrency ?? 16;
    if (!(this.capacity > 0) || !(this.concurrency > 0)) throw new Error('capacity and concurrency must be positive');
    this.sleep = options.sleep ?? realSleep;
    this.logger = options.logger ?? silentLogger;
  }

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
      this.logger.warn({ count: Array.isArray(events) ? events.length : 1 }, 'reply dropped: the event bus is closed');
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
   * A reply: delivered at once, in the caller's lane, when every trigger it matches is an
   * in-process function (and every event of a multi-event reply is such); else it re-enters.
   */
  async handOver(events: CloudEvent | CloudEvent[]): Promise<void> {
    const list = Array.isArray(events) ? events : [events];
    const targets: TriggerRunner[][] = [];
    for (const event of list) {
      const runners = this.fusable(event);
      if (runners === undefined) { this.reenter(events); return; }
      targets.push(runners);
    }
    for (let i = 0; i < list.length; i++) {
      for (const runner of targets[i]!) await runner.deliverFused(list[i]!);
    }
  }

  /** The triggers matching `event` when there is at least one and all are in-process functions. */
  private fusable(event: CloudEvent): TriggerRunner[] | undefined {
    if (this.closed) return undefined;
    let found: TriggerRunner[] | undefined;
    for (const runner of this.active) {
      if (!runner.match(event)) continue;
      if (!runner.inProcess) return undefined;
      (found ??= []).push(runner);
    }
    return found;
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

  async addTrigger(trigger: TriggerSpec, subscriber: Subscriber, deadLetter?: Subscriber): Promise<void> {
    if (this.closed) throw new MooringError('MOORING_UNAVAILABLE', 'the event bus is closed');
    const id = `${trigger.namespace}/${trigger.name}`;
    if (this.runners.has(id)) throw new Error(`trigger ${id} is already added; remove it first`);
    const runner = new TriggerRunner(this, trigger, subscriber, deadLetter, {
      concurrency: this.concurrency, sleep: this.sleep, logger: this.logger.child({ trigger: id }),
    });
    this.runners.set(id, runner);
    this.active = [...this.runners.values()];
  }

  async removeTrigger(namespace: string, name: string): Promise<void> {
    const id = `${namespace}/${name}`;
    const runner = this.runners.get(id);
    if (!runner) return;
    this.runners.delete(id);
    this.active = [...this.runners.values()];
    await runner.stop();
  }

  /** Stops: queued events are dropped, retry waits end, in-flight attempts finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    for (let w = this.waiters.shift(); w !== undefined; w = this.waiters.shift()) {
      w.reject(new MooringError('MOORING_UNAVAILABLE', 'the event bus is closed'));
    }
    const runners = this.active;
    this.active = [];
    this.runners.clear();
    await Promise.all(runners.map((r) => r.stop()));
  }
}

interface RunnerOptions {
  concurrency: number;
  sleep: Sleep;
  logger: Logger;
}

/** One trigger's delivery machinery: per-key lanes, a ready queue, a concurrency bound. */
class TriggerRunner {
  readonly match: EventPredicate;
  /** The subscriber is a function in this process: replies may be handed to it directly. */
  readonly inProcess: boolean;
  private readonly policy: DeliveryPolicy;
  private readonly destination: string;
  private readonly lanes = new Map<string, Lane>();
  private readonly ready = new Fifo<Lane>();
  private readonly abort = new AbortController();
  private readonly deliverOptions: DeliverOptions;
  private readonly concurrency: number;
  private readonly logger: Logger;
  private running = 0;
  private scheduled = false;
  private stopped = false;
  private idle: (() => void) | undefined;
  private readonly pumpNow = (): void => { this.scheduled = false; this.pump(); };

  constructor(
    private readonly bus: InMemoryEventBus,
    private readonly trigger: TriggerSpec,
    private readonly subscriber: Subscriber,
    private readonly deadLetter: Subscriber | undefined,
    options: RunnerOptions,
  ) {
    this.match = compileTriggerFilter(trigger);
    this.inProcess = isInProcessFunction(subscriber);
    this.policy = compileDelivery(trigger.delivery);
    this.destination = destinationAddress(trigger.subscriber, trigger);
    this.concurrency = options.concurrency;
    this.logger = options.logger;
    // Every retry waiting out its backoff listens on this signal: up to `concurrency` at once,
    // which is bounded, so node's leak warning (at 10) would be a false alarm.
    setMaxListeners(0, this.abort.signal);
    this.deliverOptions = { sleep: options.sleep, signal: this.abort.signal };
  }

  enqueue(envelope: Envelope): void {
    const key = partitionKey(envelope.event);
    if (key !== undefined) {
      const lane = this.lanes.get(key);
      if (lane) {
        // Running or already waiting in `ready`: it picks this up after the events before it.
        lane.items.push(envelope);
        return;
      }
    }
    const lane: Lane = { key, items: new Fifo<Envelope>() };
    lane.items.push(envelope);
    if (key !== undefined) this.lanes.set(key, lane);
    this.ready.push(lane);
    // Deliver from a microtask: a subscriber never runs inside the publisher's call.
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.pumpNow);
    }
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.ready.length > 0) {
      const lane = this.ready.shift() as Lane;
      this.running++;
      void this.run(lane);
    }
  }

  /** Delivers the lane's head event, then puts the lane back at the end of the ready queue. */
  private async run(lane: Lane): Promise<void> {
    const envelope = lane.items.shift() as Envelope;
    try {
      await this.deliver(envelope.event);
    } catch (e) {
      this.logger.error({ err: e, id: envelope.event.id }, 'delivery failed unexpectedly');
    } finally {
      this.bus.settle(envelope);
      this.running--;
      if (this.stopped) {
        this.drop(lane);
      } else if (lane.items.length > 0) {
        this.ready.push(lane);
      } else if (lane.key !== undefined) {
        this.lanes.delete(lane.key);
      }
      this.pump();
      if (this.running === 0 && this.idle) this.idle();
    }
  }

  private async deliver(event: CloudEvent): Promise<void> {
    const outcome = await deliverWithRetry(event, this.subscriber, this.policy, this.deliverOptions);
    if (outcome.delivered) {
      if (outcome.reply !== undefined) await this.bus.handOver(outcome.reply);
      return;
    }
    const log = { id: event.id, type: event.type, status: outcome.status, attempts: outcome.attempts, err: outcome.lastError };
    if (outcome.aborted) {
      this.logger.warn(log, 'delivery abandoned: the trigger stopped');
      return;
    }
    if (!this.deadLetter) {
      this.logger.warn(log, 'delivery failed; no dead-letter sink, event dropped');
      return;
    }
    this.logger.warn(log, 'delivery failed; sending to the dead-letter sink');
    const dead = deadLetterEvent(event, { status: outcome.status, data: failureData(outcome.lastError) }, this.destination);
    const deadOutcome = await deliverWithRetry(dead, this.deadLetter, this.policy, this.deliverOptions);
    if (!deadOutcome.delivered) {
      this.logger.error({ id: event.id, status: deadOutcome.status, err: deadOutcome.lastError }, 'dead-letter sink failed; event dropped');
    }
  }

  /** A fused reply: this trigger's full delivery (retries, dead letter, its own reply) now. */
  async deliverFused(event: CloudEvent): Promise<void> {
    if (this.stopped) {
      this.logger.warn({ id: event.id, trigger: this.trigger.name }, 'reply dropped: the trigger stopped');
      return;
    }
    try {
      await this.deliver(event);
    } catch (e) {
      this.logger.error({ err: e, id: event.id }, 'delivery failed unexpectedly');
    }
  }

  private drop(lane: Lane): void {
    for (let e = lane.items.shift(); e !== undefined; e = lane.items.shift()) this.bus.settle(e);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    let dropped = 0;
    for (let lane = this.ready.shift(); lane !== undefined; lane = this.ready.shift()) {
      dropped += lane.items.length;
      this.drop(lane);
    }
    for (const lane of this.lanes.values()) {
      dropped += lane.items.length;
      this.drop(lane);
    }
    this.lanes.clear();
    if (dropped > 0) this.logger.warn({ dropped, trigger: this.trigger.name }, 'trigger stopped with queued events');
    if (this.running > 0) await new Promise<void>((resolve) => { this.idle = resolve; });
  }
}
