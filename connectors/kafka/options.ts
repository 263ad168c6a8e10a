// The options of KafkaEventBus (./bus.ts), with their defaults.

import type { Tracer } from '../../functions/ports/tracing.ts';
import { realSleep, type Sleep } from '../knative/delivery.ts';
import type { TriggerSpec } from '../../functions/ports/bus.ts';
import { MooringError } from '../../events/errors.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import type { KafkaRecordMode } from '../../events/bindings/kafka.ts';
import { MOORING_TYPED_EXTENSIONS, type ExtensionTypes } from '../../events/bindings/extensions.ts';

export interface KafkaEventBusOptions {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  clientId?: string;
  /** The Knative Broker this bus is (default `default`/`default`). */
  namespace?: string;
  broker?: string;
  /**
   * The topic every event goes to and every Trigger reads (default
   * `knative-broker-<namespace>-<broker>`).
   */
  topic?: string;
  /** Partitions and replication of a topic the bus creates (defaults 4 and 1). */
  partitions?: number;
  replicationFactor?: number;
  /** Producer batching: linger time (ms, default 2) and records per batch (default 500). */
  lingerMs?: number;
  batchSize?: number;
  /** Events waiting for Kafka before publish answers MOORING_BUS_FULL (default 10000). */
  maxPending?: number;
  /** A publish not acknowledged in this time rejects with MOORING_UNAVAILABLE (ms, default 10000). */
  publishTimeoutMs?: number;
  /** Consumer group name of a Trigger (default Knative's `knative-trigger-<ns>-<name>`). */
  groupId?: (trigger: TriggerSpec) => string;
  /** Where a new consumer group starts (default `earliest`, see above). */
  startFrom?: 'earliest' | 'latest';
  /** Consumer group timing (ms): session 10000, heartbeat 1000, rebalance 10000, join wait 30000. */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  joinTimeoutMs?: number;
  /**
   * Partition keys of one fetched batch delivered at the same time, per Trigger and partition
   * (default 64); each key's records stay strictly in order.
   */
  keyConcurrency?: number;
  /** Longest time a final offset waits for its commit (ms, default 500; commits are batched). */
  commitIntervalMs?: number;
  /**
   * A Trigger's fetch answers once it has this many bytes (default 32 KiB) or waited
   * `fetchMaxWaitMs` (default 20 ms): fewer, larger fetches under load, cheaper for Kafka and
   * the decoder, and at most that wait added to a delivery at low rates.
   */
  fetchMinBytes?: number;
  fetchMaxWaitMs?: number;
  /** Extensions whose integer/boolean type is restored from the string header. */
  typedExtensions?: ExtensionTypes;
  /** The wait between delivery retries (injectable so tests need not wait). */
  sleep?: Sleep;
  /** Deliver to in-process Triggers before writing (default true; false: every event is written). */
  fusion?: boolean;
  /**
   * This bus is the only writer of its topic (single-host mode; default false). With fusion on,
   * its in-process Triggers are then served only at publish time (partial fusion, see
   * connectors/knative/engine.ts), so they need no consumer group: no fetch decodes every record
   * of the topic just to filter it out. An in-process Trigger then sees the events published
   * through this bus after it was added, not the topic's earlier records.
   */
  soleWriter?: boolean;
  /**
   * How events are written to the broker topic (default `binary`, as Knative's Kafka broker
   * writes them). `structured` (single-host mode) writes one JSON value and one header per
   * record instead of a dozen `ce_` headers: several times cheaper to encode and decode (the
   * data goes as `data_base64`, its bytes unchanged). The consumers read both. Other topics
   * (publishTo: KafkaSinks, `events-<app>`) are always binary, the application-facing wire.
   */
  recordMode?: KafkaRecordMode;
  /**
   * Backpressure (./lag-gate.ts): an unacknowledged publish (QoS 0) waits while the consumer of a
   * Trigger with its own group is this many records behind or more and still progressing (default
   * 10000; 0: never waits); later publishes queue behind it.
   * A consumer without progress for `lagStallMs` (default 2000) holds nothing.
   */
  maxLag?: number;
  lagStallMs?: number;
  /**
   * In-process Triggers of one topic share one consumer group (default true; ./shared.ts);
   * false: one group per Trigger, as for every other subscriber.
   */
  shareInProcess?: boolean;
  logger?: Logger;
  /** A span per delivery (an OTLP endpoint is configured). */
  tracer?: Tracer | undefined;
}

export type ResolvedOptions = Required<Omit<KafkaEventBusOptions, 'topic' | 'groupId' | 'tracer'>> & Pick<KafkaEventBusOptions, 'topic' | 'groupId' | 'tracer'>;

export function resolveOptions(o: KafkaEventBusOptions): ResolvedOptions {
  if (!Array.isArray(o.brokers) || o.brokers.length === 0) throw new MooringError('MOORING_INVALID_CONFIG', 'KafkaEventBus: brokers must list at least one host:port');
  return {
    clientId: 'mooring', namespace: 'default', broker: 'default', partitions: 4, replicationFactor: 1,
    lingerMs: 2, batchSize: 500, maxPending: 10_000, publishTimeoutMs: 10_000, startFrom: 'earliest',
    sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 10_000, joinTimeoutMs: 30_000,
    keyConcurrency: 64, commitIntervalMs: 500, fetchMinBytes: 32 * 1024, fetchMaxWaitMs: 20, typedExtensions: MOORING_TYPED_EXTENSIONS, sleep: realSleep, fusion: true, soleWriter: false, recordMode: 'binary', maxLag: 10_000, lagStallMs: 2000, shareInProcess: true, logger: silentLogger,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
  } as ResolvedOptions;
}
