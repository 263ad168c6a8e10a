// The Knative delivery engine: the one place where a Trigger's rules are applied to an event.
// `TriggerEngine.deliver(event)` runs the filter-selected event through the Trigger's delivery
// policy (retries, backoff, per-attempt timeout: ./delivery.ts) and its dead-letter step, and says
// what the transport must do next. `Fusion` hands an event straight to the Triggers that match it
// when every one of them is an in-process function (declared by its SubscriberRef, never sniffed).
// The buses (connectors/broker: in-memory, connectors/kafka) are transports under this: they
// queue, keep per-partitionkey order and commit; neither holds a delivery rule of its own.

import { setMaxListeners } from 'node:events';
import type { CloudEvent } from '../../events/cloudevent.ts';
import {
  isRetriableStatus, subscriberRef,
  type DeliveryStats, type SubscriberInput, type SubscriberRef, type TriggerSpec,
} from '../../functions/ports/bus.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import { eventSpan, type Tracer } from '../../functions/ports/tracing.ts';
import { traceIdOf } from '../../events/trace.ts';
import {
  backoffDelay, compileDelivery, deadLetterEvent, deliverWithRetry, destinationAddress, failureData,
  type DeliveryPolicy, type Sleep,
} from './delivery.ts';
import { compileTriggerFilter, type EventPredicate } from './filters.ts';

/**
 * What became of one event on one Trigger.
 * - `done`: its outcome is final (delivered, dead-lettered, or dropped); `replies` re-enter the broker.
 * - `kept`: the dead-letter sink stayed down through the Trigger's retries; the event is not
 *   final: the transport keeps it (in-memory: queued; Kafka: offset not committed) and calls
 *   `deliver` again after `pause(round)`.
 * - `aborted`: the Trigger is stopping; the event is not final (a durable bus delivers it again).
 */
export type Outcome =
  | { readonly kind: 'done'; readonly replies: readonly CloudEvent[] }
  | { readonly kind: 'kept' }
  | { readonly kind: 'aborted' };

const NO_REPLIES: readonly CloudEvent[] = [];
const DONE: Outcome = { kind: 'done', replies: NO_REPLIES };
const KEPT: Outcome = { kind: 'kept' };
const ABORTED: Outcome = { kind: 'aborted' };

/** Bounds of the wait before a kept event is tried again. */
const KEPT_MIN_MS = 200;
const KEPT_MAX_MS = 5000;

export function newDeliveryStats(): DeliveryStats {
  return { deadLettered: 0, deadLetterFailures: 0, dropped: 0, fused: 0, retries: 0, remoteDeliveries: {} };
}

export interface EngineOptions {
  sleep: Sleep;
  logger: Logger;
  /** The bus's counters, shared by its Triggers. */
  stats: DeliveryStats;
  /** A span per delivery (an OTLP endpoint is configured). */
  tracer?: Tracer | undefined;
}

export class TriggerEngine {
  readonly trigger: TriggerSpec;
  readonly id: string;
  readonly match: EventPredicate;
  readonly subscriber: SubscriberRef;
  readonly deadLetter: SubscriberRef | undefined;
  private readonly policy: DeliveryPolicy;
  private readonly destination: string;
  private readonly abort = new AbortController();
  private readonly sleep: Sleep;
  private readonly stats: DeliveryStats;
  private readonly tracer: Tracer | undefined;
  readonly logger: Logger;

  /** Throws on a Trigger Knative's webhook would refuse (bad filter or delivery spec). */
  constructor(trigger: TriggerSpec, subscriber: SubscriberInput, deadLetter: SubscriberInput | undefined, options: EngineOptions) {
    this.trigger = trigger;
    this.id = `${trigger.namespace}/${trigger.name}`;
    this.match = compileTriggerFilter(trigger);
    this.policy = compileDelivery(trigger.delivery);
    this.destination = destinationAddress(trigger.subscriber, trigger);
    this.subscriber = subscriberRef(subscriber, this.destination);
    this.deadLetter = deadLetter === undefined ? undefined : subscriberRef(deadLetter, 'dead-letter sink');
    this.sleep = options.sleep;
    this.stats = options.stats;
    this.logger = options.logger;
    this.tracer = options.tracer;
    // Every retry waiting out its backoff listens on this signal; their number is bounded by the
    // transport's concurrency, so node's leak warning (at 10) would be a false alarm.
    setMaxListeners(0, this.abort.signal);
  }

  /** The subscriber is a function in this process: events may be handed to it directly. */
  get inProcess(): boolean { return this.subscriber.inProcess; }

  get stopped(): boolean { return this.abort.signal.aborted; }

  /** Ends retry and backoff waits; deliveries then return `aborted`. */
  stop(): void { this.abort.abort(); }

  /**
   * One event through this Trigger: the subscriber with retries; after the last failed attempt
   * the dead-letter sink, with the same retries and backoff. Never throws.
   */
  deliver(event: CloudEvent): Promise<Outcome> {
    // Not async: without a tracer no promise is added per delivery.
    return this.tracer === undefined ? this.deliverOnce(event) : this.deliverTraced(event, this.tracer);
  }

  private async deliverTraced(event: CloudEvent, tracer: Tracer): Promise<Outcome> {
    const span = eventSpan(tracer, `deliver ${this.id}`, event, { 'mooring.subscriber': this.destination });
    const o = await this.deliverOnce(event);
    span?.end(o.kind === 'done' ? undefined : o.kind);
    return o;
  }

  private async deliverOnce(event: CloudEvent): Promise<Outcome> {
    const signal = this.abort.signal;
    const outcome = await deliverWithRetry(event, this.subscriber.call, this.policy, { sleep: this.sleep, signal });
    const stats = this.stats;
    if (outcome.attempts > 1) stats.retries += outcome.attempts - 1;
    if (!this.subscriber.inProcess && (outcome.delivered || !outcome.aborted)) {
      const status = outcome.delivered ? '2xx' : outcome.status === undefined ? 'network' : String(outcome.status);
      stats.remoteDeliveries[status] = (stats.remoteDeliveries[status] ?? 0) + 1;
    }
    if (outcome.delivered) {
      const reply = outcome.reply;
      if (reply === undefined) return DONE;
      return { kind: 'done', replies: Array.isArray(reply) ? reply : [reply] };
    }
    if (outcome.aborted) return ABORTED;
    const log = { id: event.id, trace: traceIdOf(event), type: event.type, status: outcome.status, attempts: outcome.attempts, err: outcome.lastError };
    if (!this.deadLetter) {
      this.stats.dropped++;
      this.logger.warn(log, 'delivery failed; no dead-letter sink, event dropped');
      return DONE;
    }
    this.logger.warn(log, 'delivery failed; sending to the dead-letter sink');
    const dead = deadLetterEvent(event, { status: outcome.status, data: failureData(outcome.lastError) }, this.destination);
    const d = await deliverWithRetry(dead, this.deadLetter.call, this.policy, { sleep: this.sleep, signal });
    if (d.attempts > 1) stats.retries += d.attempts - 1;
    if (d.delivered) {
      this.stats.deadLettered++;
      return DONE;
    }
    if (d.aborted) return ABORTED;
    if (!isRetriableStatus(d.status)) {
      // A sink that refuses the event for good cannot be helped by waiting.
      this.stats.dropped++;
      this.logger.error({ id: event.id, trace: log.trace, status: d.status, err: d.lastError }, 'the dead-letter sink refused the event; dropped');
      return DONE;
    }
    this.stats.deadLetterFailures++;
    this.logger.error({ id: event.id, trace: log.trace, status: d.status, attempts: d.attempts, err: d.lastError },
      'dead-letter sink unavailable; the event is kept and tried again later');
    return KEPT;
  }

  /** The wait before a kept event's round `round` (1 = the first again): the Trigger's backoff, bounded. */
  pause(round: number): Promise<void> {
    const ms = Math.min(KEPT_MAX_MS, Math.max(KEPT_MIN_MS, backoffDelay(this.policy, round)));
    return this.sleep(ms, this.abort.signal);
  }
}

/** What fusing some events left: the events to publish to the bus, or why it stopped. */
export type FusionResult =
  | { readonly kind: 'done'; readonly publish: CloudEvent[] }
  | { readonly kind: 'kept' }
  | { readonly kind: 'aborted' };

/**
 * Fusion (ARCHITECTURE.md, "The flow"): when every Trigger matching an event is an in-process
 * function, the event is delivered to those Triggers at once, each with its own delivery policy
 * and dead letter, and their replies likewise; what some other Trigger (a push sink, a URI)
 * must see is returned to be published. The events observed are the same, a bus hop is saved.
 *
 * `partial` (a bus that is the only writer of its topic and has no consumer for its in-process
 * Triggers, connectors/kafka/bus.ts): the in-process Triggers matching an event are served at
 * once whatever else matches it, and the event is published too when another Trigger (or none)
 * matches it.
 */
export class Fusion {
  constructor(
    private readonly engines: () => readonly TriggerEngine[],
    readonly enabled: boolean,
    private readonly stats: DeliveryStats,
    readonly partial = false,
  ) {}

  /** The Triggers matching `event` when there is at least one and all are in-process and running. */
  fusable(event: CloudEvent): TriggerEngine[] | undefined {
    if (!this.enabled) return undefined;
    let found: TriggerEngine[] | undefined;
    for (const engine of this.engines()) {
      if (!engine.match(event)) continue;
      if (!engine.inProcess || engine.stopped) return undefined;
      (found ??= []).push(engine);
    }
    return found;
  }

  /**
   * Partial fusion: the running in-process Triggers matching `event` (undefined: none), and
   * whether the event must be published too (another Trigger matches it, or none does).
   */
  private split(event: CloudEvent): { engines: TriggerEngine[] | undefined; publish: boolean } {
    let engines: TriggerEngine[] | undefined;
    let others = false;
    for (const engine of this.engines()) {
      if (!engine.match(event)) continue;
      if (!engine.inProcess) others = true;
      else if (!engine.stopped) (engines ??= []).push(engine);
    }
    return { engines, publish: others || engines === undefined };
  }

  /** Whether `run` would deliver `event` to some Trigger in-process. */
  serves(event: CloudEvent): boolean {
    if (!this.enabled) return false;
    return (this.partial ? this.split(event).engines : this.fusable(event)) !== undefined;
  }

  /**
   * Delivers each event (in order, depth first) to the in-process Triggers serving it. `onKept`
   * takes an event a Trigger kept or abandoned because it is stopping (the in-memory bus queues
   * it there, or spools it); without it such an event stops the run, and the caller must not
   * treat `events` as accepted.
   */
  async run(events: readonly CloudEvent[], onKept?: (engine: TriggerEngine, event: CloudEvent) => void): Promise<FusionResult> {
    const publish: CloudEvent[] = [];
    const r = await this.into(events, publish, onKept);
    return r === undefined ? { kind: 'done', publish } : r;
  }

  private async into(
    events: readonly CloudEvent[], publish: CloudEvent[], onKept: ((engine: TriggerEngine, event: CloudEvent) => void) | undefined,
  ): Promise<Exclude<FusionResult, { kind: 'done' }> | undefined> {
    for (const event of events) {
      let engines: TriggerEngine[] | undefined;
      if (this.partial && this.enabled) {
        const split = this.split(event);
        if (split.publish) publish.push(event);
        engines = split.engines;
        if (engines === undefined) continue;
      } else {
        engines = this.fusable(event);
        if (engines === undefined) { publish.push(event); continue; }
      }
      this.stats.fused++;
      for (const engine of engines) {
        const o = await engine.deliver(event);
        if (o.kind === 'done') {
          if (o.replies.length > 0) {
            const r = await this.into(o.replies, publish, onKept);
            if (r !== undefined) return r;
          }
        } else if (onKept) {
          // Kept, or aborted by a stopping Trigger: not final either way; the caller keeps it.
          onKept(engine, event);
        } else {
          return o;
        }
      }
    }
    return undefined;
  }
}
