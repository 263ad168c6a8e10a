// The EventBus port: a Knative Broker. Events are published into it; Triggers (from knative/)
// select events by filter and deliver them to a subscriber with Knative's delivery semantics
// (retry with backoff, dead-letter sink, replies re-entering the broker, order per partitionkey).
// Adapters: connectors/broker (in-memory, embedded mode) and connectors/kafka. Every adapter
// passes test/contracts/event-bus.ts.

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

/** Turns a Trigger's subscriber or dead-letter Destination into something that can be called. */
export type DestinationResolver = (destination: Destination, trigger: TriggerSpec) => Subscriber;

/** Knative retries these statuses and network errors; any other failure is final at once. */
export function isRetriableStatus(status: number | undefined): boolean {
  return status === undefined || status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

export interface EventBus {
  /**
   * Resolves once the bus has durably accepted every event (Kafka: acks=all). Rejects with a
   * MooringError MOORING_BUS_FULL when the bus refuses more now, MOORING_UNAVAILABLE when down.
   */
  publish(events: CloudEvent | CloudEvent[]): Promise<void>;
  /**
   * Starts delivering the events that match `trigger` to `subscriber`. After the last failed
   * attempt the event goes to `deadLetter` (the trigger's `delivery.deadLetterSink`, resolved)
   * with the extensions `knativeerrorcode` and `knativeerrordest`; without one it is dropped.
   */
  addTrigger(trigger: TriggerSpec, subscriber: Subscriber, deadLetter?: Subscriber): Promise<void>;
  removeTrigger(namespace: string, name: string): Promise<void>;
  /** Stops delivery after in-flight deliveries finish; pending work stays in the bus if durable. */
  close(): Promise<void>;
}
