// The EventBus port: a Knative Broker. Events are published into it; Triggers (from knative/)
// select events by filter and deliver them to a subscriber with Knative's delivery semantics
// (retry with backoff, dead-letter sink, replies re-entering the broker, order per partitionkey).
// The semantics live once, in connectors/knative (engine.ts); connectors/broker (in-memory,
// embedded mode) and connectors/kafka are transports under it. Every adapter passes
// test/contracts/event-bus.ts.

import type { CloudEvent } from '../../events/cloudevent.ts';

/** Knative Trigger `spec.filters` dialect (SubscriptionsAPI filters). */
export type SubscriptionsFilter =
  | { exact: Record<string, string> }
  | { prefix: Record<string, string> }
  | { suffix: Record<string, string> }
  | { all: SubscriptionsFilter[] }
  | { any: SubscriptionsFilter[] }
  | { not: SubscriptionsFilter };

/** Knative `delivery` spec (duck DeliverySpec). */
export interface DeliverySpec {
  /** Retries after the first attempt (Knative: `retry`). */
  retry?: number;
  backoffPolicy?: 'linear' | 'exponential';
  /** ISO-8601 duration, e.g. `PT0.2S`. */
  backoffDelay?: string;
  /** Per-attempt timeout, ISO-8601 duration. */
  timeout?: string;
  deadLetterSink?: Destination;
}

/** Knative duck Destination: a reference to an addressable, or a URI. */
export interface Destination {
  ref?: { apiVersion?: string; kind: string; name: string; namespace?: string };
  uri?: string;
}

/** The parts of a Knative Trigger the broker acts on. */
export interface TriggerSpec {
  name: string;
  namespace: string;
  broker: string;
  filter?: { attributes?: Record<string, string> };
  filters?: SubscriptionsFilter[];
  subscriber: Destination;
  delivery?: DeliverySpec;
}

/**
 * A subscriber receives one event. It resolves with its reply (which re-enters the broker) or
 * nothing; it rejects with `deliveryFailed(…)` (MOORING_DELIVERY_FAILED; status, when it answered) for a failed attempt.
 */
export type Subscriber = (event: CloudEvent) => Promise<CloudEvent | CloudEvent[] | undefined>;

/**
 * A subscriber as a bus receives it: what to call, and a declaration of whether it is a Mooring
 * function running in this process (no I/O of its own). A bus may hand an event straight to the
 * Triggers that match it when every one of them is in-process ("fusion", ARCHITECTURE.md); it never
 * guesses this from the callable.
 */
export interface SubscriberRef {
  readonly call: Subscriber;
  readonly inProcess: boolean;
  /** For logs: the function's name or the destination's address. */
  readonly name: string;
  /**
   * The subscriber of a Trigger only this process has (a gateway instance's routed commands):
   * a shared bus gives it a consumer group of its own, which starts at the topic's end, since
   * nothing addressed to an instance can predate it.
   */
  readonly perInstance?: boolean;
  /**
   * How the bus reads for this subscriber when it is not the Trigger's own way: an application's
   * stream read by a pull integration (connectors/stream) names its consumer group and starts at
   * the latest event. The in-memory bus has nothing to choose (a Trigger sees what is published
   * after it is added); Kafka uses the group, the start and the topic.
   */
  readonly consumer?: ConsumerSpec;
}

/** A subscriber's own consumer group on a durable bus. */
export interface ConsumerSpec {
  /** The consumer group, instead of the Trigger's (`{app}.{group}` for a stream). */
  readonly groupId: string;
  /** Where the group starts when it has no committed position. */
  readonly startFrom: 'earliest' | 'latest';
  /** The topic to read instead of the Broker's (per-application topics: `events-{app}`). */
  readonly topic?: string;
}

/** What addTrigger takes: a descriptor, or a bare callable (then not in-process). */
export type SubscriberInput = Subscriber | SubscriberRef;

/** The descriptor of `input`; a bare callable is an outside subscriber. */
export function subscriberRef(input: SubscriberInput, name: string): SubscriberRef {
  return typeof input === 'function' ? { call: input, inProcess: false, name } : input;
}

/** Turns a Trigger's subscriber or dead-letter Destination into something that can be called. */
export type DestinationResolver = (destination: Destination, trigger: TriggerSpec) => SubscriberRef;

/** Writes events to a named topic with the bus's binding (a KafkaSink); resolves after acks=all. */
export type TopicWriter = (topic: string, events: CloudEvent[]) => Promise<void>;

/** What a bus declares about itself, for a composition root that must know. */
export interface BusCapabilities {
  /** `kafka`: durable, survives the process; `memory`: lost when the process ends. */
  readonly kind: 'memory' | 'kafka';
  /** Present when the bus can write other topics (Kafka: KafkaSinks, per-application topics). */
  readonly topics?: TopicWriter;
  /**
   * Present when the bus is not durable and hands what a stop could not deliver to a spool
   * (the in-memory broker; connectors/knative/spool.ts). Kafka keeps undelivered events itself.
   */
  readonly spool?: SpoolHooks;
}

/** A non-durable bus's hooks for a spool: undelivered events out at stop, back in at start. */
export interface SpoolHooks {
  /** Receives each event a stopping trigger could not deliver (undefined: they are dropped). */
  keep: ((trigger: string, event: CloudEvent) => void) | undefined;
  /** Enqueues an event into one trigger; false when there is no such trigger. */
  restore(trigger: string, event: CloudEvent): boolean;
  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void>;
}

/** Counters every bus keeps about its delivery engine (connectors/knative/engine.ts). */
export interface DeliveryStats {
  /** Events that reached a dead-letter sink. */
  deadLettered: number;
  /** Rounds in which the dead-letter sink failed after its retries: the event was kept. */
  deadLetterFailures: number;
  /** Events dropped: failed with no dead-letter sink, or refused for good by it. */
  dropped: number;
  /** Events handed to in-process Triggers without a bus hop. */
  fused: number;
}

/** Knative retries these statuses and network errors; any other failure is final at once. */
export function isRetriableStatus(status: number | undefined): boolean {
  return status === undefined || status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

export interface PublishOptions {
  /**
   * The sender gets no answer and cannot be refused (MQTT QoS 0): a bus whose subscribers fall
   * behind may hold such a publish until they catch up (backpressure: the publish settles late and
   * the gateway reads no more from that connection meanwhile) instead of letting a backlog grow.
   */
  unacknowledged?: boolean;
}

export interface EventBus {
  readonly capabilities: BusCapabilities;
  /** The delivery engine's counters (a snapshot). */
  stats(): DeliveryStats;
  /**
   * Resolves once the bus has durably accepted every event (Kafka: acks=all). Rejects with a
   * MooringError MOORING_BUS_FULL when the bus refuses more now, MOORING_UNAVAILABLE when down.
   */
  publish(events: CloudEvent | CloudEvent[], options?: PublishOptions): Promise<void>;
  /**
   * True when no event with this `partitionkey` is waiting to be accepted, queued or being
   * delivered on any Trigger: an event published now cannot overtake one of the key's earlier
   * events whatever Triggers it takes. Optional: a bus that cannot tell cheaply (Kafka) has none.
   */
  quiet?(partitionKey: string): boolean;
  /**
   * Starts delivering the events that match `trigger` to `subscriber`. After the last failed
   * attempt the event goes to `deadLetter` (the trigger's `delivery.deadLetterSink`, resolved)
   * with the extensions `knativeerrorcode` and `knativeerrordest`; without one it is dropped.
   * A dead-letter sink that stays down (after the trigger's retries) does not lose the event: it
   * is kept and tried again later (counted in `stats().deadLetterFailures`).
   */
  addTrigger(trigger: TriggerSpec, subscriber: SubscriberInput, deadLetter?: SubscriberInput): Promise<void>;
  removeTrigger(namespace: string, name: string): Promise<void>;
  /** Stops delivery after in-flight deliveries finish; pending work stays in the bus if durable. */
  close(): Promise<void>;
}
