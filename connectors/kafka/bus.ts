// EventBus on Apache Kafka (kafkajs), laid out as Knative's Kafka broker lays it out: one topic per
// Broker (`knative-broker-<ns>-<broker>`), CloudEvents in binary mode (./binding.ts), the
// partitionkey as record key, one consumer group per Trigger (`knative-trigger-<ns>-<name>`).
// publish resolves only after acks=all (./producer.ts); Triggers commit an offset only when the
// record's outcome is final (./consumer.ts). Passes test/contracts/event-bus.ts.
//
// A new consumer group starts at the earliest offset (Knative's default is latest): a Trigger
// created at startup then still sees what was published, and acknowledged, before it joined.

import { Kafka, logLevel } from 'kafkajs';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { realSleep, type Sleep } from '../knative/delivery.ts';
import type { EventBus, Subscriber, TriggerSpec } from '../../functions/ports/bus.ts';
import { MooringError } from '../../events/errors.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import { encodeBinary, MOORING_TYPED_EXTENSIONS, type ExtensionType } from './binding.ts';
import { TriggerConsumer } from './consumer.ts';
import { kafkajsLogCreator } from './logging.ts';
import { BatchingProducer } from './producer.ts';
import { brokerTopic, triggerGroupId } from './topics.ts';

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
  /** Longest time between offset commits while a fetched batch is processed (ms, default 500). */
  commitIntervalMs?: number;
  /** Extensions whose integer/boolean type is restored from the string header. */
  typedExtensions?: Readonly<Record<string, ExtensionType>>;
  /** The wait between delivery retries (injectable so tests need not wait). */
  sleep?: Sleep;
  logger?: Logger;
}

type Resolved = Required<Omit<KafkaEventBusOptions, 'topic' | 'groupId'>> & Pick<KafkaEventBusOptions, 'topic' | 'groupId'>;

function resolveOptions(o: KafkaEventBusOptions): Resolved {
  if (!Array.isArray(o.brokers) || o.brokers.length === 0) throw new Error('KafkaEventBus: brokers must list at least one host:port');
  return {
    clientId: 'mooring', namespace: 'default', broker: 'default', partitions: 4, replicationFactor: 1,
    lingerMs: 2, batchSize: 500, maxPending: 10_000, publishTimeoutMs: 10_000, startFrom: 'earliest',
    sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 10_000, joinTimeoutMs: 30_000,
    keyConcurrency: 64, commitIntervalMs: 500, typedExtensions: MOORING_TYPED_EXTENSIONS, sleep: realSleep, logger: silentLogger,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
  } as Resolved;
}

export class KafkaEventBus implements EventBus {
  private readonly options: Resolved;
  private readonly kafka: Kafka;
  private readonly producer: BatchingProducer;
  private readonly triggers = new Map<string, TriggerConsumer>();
  private readonly topics = new Map<string, Promise<void>>();
  private readonly ready = new Set<string>();
  private readonly logger: Logger;
  private closed = false;

  constructor(options: KafkaEventBusOptions) {
    this.options = resolveOptions(options);
    const o = this.options;
    this.logger = o.logger.child({ component: 'kafka-bus' });
    this.kafka = new Kafka({
      clientId: o.clientId,
      brokers: o.brokers,
      connectionTimeout: 3000,
      requestTimeout: o.publishTimeoutMs,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: logLevel.WARN,
      logCreator: kafkajsLogCreator(this.logger),
    });
    this.producer = new BatchingProducer(this.kafka, {
      lingerMs: o.lingerMs, batchSize: o.batchSize, maxPending: o.maxPending,
      publishTimeoutMs: o.publishTimeoutMs, logger: this.logger,
    });
  }

  /** The topic this bus publishes to. */
  get topic(): string {
    return this.options.topic ?? brokerTopic(this.options.namespace, this.options.broker);
  }

  /** The topic a Trigger reads: the bus's topic, or its own Broker's when no topic was fixed. */
  private triggerTopic(trigger: TriggerSpec): string {
    return this.options.topic ?? brokerTopic(trigger.namespace, trigger.broker);
  }

  publish(events: CloudEvent | CloudEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    return this.send(Array.isArray(events) ? events : [events]);
  }

  /**
   * Publishes to another topic (created when missing) with the same binding and key: what a
   * KafkaSink does (./sink.ts). Resolves after acks=all, like publish.
   */
  publishTo(topic: string, events: CloudEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    return this.sendTo(topic, events);
  }

  /** Publishing without the closed check: replies of deliveries still in flight during close. */
  private async send(events: CloudEvent[]): Promise<void> {
    return this.sendTo(this.topic, events);
  }

  private async sendTo(topic: string, events: CloudEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.topicReady(topic);
    await this.producer.send(topic, events.map(encodeBinary));
  }

  /** ensureTopic bounded by publishTimeoutMs, so a first publish never outlasts its deadline. */
  private topicReady(topic: string): Promise<void> {
    const ready = this.ensureTopic(topic);
    if (this.ready.has(topic)) return ready;
    let timer: NodeJS.Timeout | undefined;
    const ms = this.options.publishTimeoutMs;
    return Promise.race([
      ready.then(() => { this.ready.add(topic); }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new MooringError('MOORING_UNAVAILABLE', `Kafka topic ${topic} not ready within ${ms} ms`)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Creates the topic when missing (once per topic and bus; retried after a failure). */
  ensureTopic(topic: string): Promise<void> {
    let p = this.topics.get(topic);
    if (!p) {
      p = this.createTopic(topic);
      this.topics.set(topic, p);
      p.catch(() => this.topics.delete(topic));
    }
    return p;
  }

  private async createTopic(topic: string): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.createTopics({
        waitForLeaders: true,
        timeout: this.options.publishTimeoutMs,
        topics: [{ topic, numPartitions: this.options.partitions, replicationFactor: this.options.replicationFactor }],
      });
    } catch (e) {
      throw new MooringError('MOORING_UNAVAILABLE', `Kafka topic ${topic}: ${(e as Error).message}`, { cause: e });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async addTrigger(trigger: TriggerSpec, subscriber: Subscriber, deadLetter?: Subscriber): Promise<void> {
    if (this.closed) throw closedError();
    const key = `${trigger.namespace}/${trigger.name}`;
    await this.removeTrigger(trigger.namespace, trigger.name);
    const topic = this.triggerTopic(trigger);
    const o = this.options;
    const consumer = new TriggerConsumer(trigger, subscriber, deadLetter, {
      topic,
      groupId: o.groupId ? o.groupId(trigger) : triggerGroupId(trigger.namespace, trigger.name),
      concurrency: o.partitions,
      keyConcurrency: o.keyConcurrency,
      startFrom: o.startFrom,
      sessionTimeoutMs: o.sessionTimeoutMs,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      rebalanceTimeoutMs: o.rebalanceTimeoutMs,
      joinTimeoutMs: o.joinTimeoutMs,
      commitIntervalMs: o.commitIntervalMs,
      typedExtensions: o.typedExtensions,
      sleep: o.sleep,
      logger: this.logger,
      publish: (events) => this.send(events),
    });
    await this.ensureTopic(topic);
    this.triggers.set(key, consumer);
    try {
      await consumer.start(this.kafka);
    } catch (e) {
      if (this.triggers.get(key) === consumer) this.triggers.delete(key);
      throw e;
    }
  }

  async removeTrigger(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    const consumer = this.triggers.get(key);
    if (!consumer) return;
    this.triggers.delete(key);
    await consumer.stop();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const consumers = [...this.triggers.values()];
    this.triggers.clear();
    // Consumers first: their in-flight deliveries may still publish replies.
    await Promise.all(consumers.map((c) => c.stop()));
    await this.producer.close();
  }
}

function closedError(): MooringError {
  return new MooringError('MOORING_UNAVAILABLE', 'the Kafka bus is closed');
}
