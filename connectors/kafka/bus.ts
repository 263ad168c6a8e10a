// EventBus on Apache Kafka (kafkajs), laid out as Knative's Kafka broker lays it out: one topic per
// Broker (`knative-broker-<ns>-<broker>`), CloudEvents in binary mode (./binding.ts), the
// partitionkey as record key, one consumer group per Trigger (`knative-trigger-<ns>-<name>`).
// publish resolves only after acks=all (./producer.ts); Triggers commit an offset only when the
// record's outcome is final (./consumer.ts). The delivery rules are the Knative engine's
// (connectors/knative/engine.ts); this is a transport. Fusion: an event (a device's raw publish
// too) whose every matching Trigger is an in-process function is delivered to them before it is
// written, and only what other Triggers must see goes to Kafka, in one acks=all write; publish
// resolves after it. Passes test/contracts/event-bus.ts.
//
// A new consumer group starts at the earliest offset (Knative's default is latest): a Trigger
// created at startup then still sees what was published, and acknowledged, before it joined. The
// exception is a per-instance Trigger (SubscriberRef.perInstance: a gateway's routed commands):
// its group is its own, named after the instance, and starts at the end.

import { Kafka, logLevel } from 'kafkajs';
import { partitionKey, type CloudEvent } from '../../events/cloudevent.ts';
import { realSleep, type Sleep } from '../knative/delivery.ts';
import { Fusion, newDeliveryStats, TriggerEngine } from '../knative/engine.ts';
import type {
  BusCapabilities, DeliveryStats, EventBus, SubscriberInput, TriggerSpec,
} from '../../functions/ports/bus.ts';
import { MooringError } from '../../events/errors.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import { encodeKafkaBinary } from '../../events/bindings/kafka.ts';
import { MOORING_TYPED_EXTENSIONS, type ExtensionTypes } from '../../events/bindings/extensions.ts';
import { TriggerConsumer, type ConsumerTarget } from './consumer.ts';
import { SharedInProcessTarget } from './shared.ts';
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
  typedExtensions?: ExtensionTypes;
  /** The wait between delivery retries (injectable so tests need not wait). */
  sleep?: Sleep;
  /** Deliver to in-process Triggers before writing (default true; false: every event is written). */
  fusion?: boolean;
  /**
   * In-process Triggers of one topic share one consumer group (default true; ./shared.ts);
   * false: one group per Trigger, as for every other subscriber.
   */
  shareInProcess?: boolean;
  logger?: Logger;
}

type Resolved = Required<Omit<KafkaEventBusOptions, 'topic' | 'groupId'>> & Pick<KafkaEventBusOptions, 'topic' | 'groupId'>;

function resolveOptions(o: KafkaEventBusOptions): Resolved {
  if (!Array.isArray(o.brokers) || o.brokers.length === 0) throw new MooringError('MOORING_INVALID_CONFIG', 'KafkaEventBus: brokers must list at least one host:port');
  return {
    clientId: 'mooring', namespace: 'default', broker: 'default', partitions: 4, replicationFactor: 1,
    lingerMs: 2, batchSize: 500, maxPending: 10_000, publishTimeoutMs: 10_000, startFrom: 'earliest',
    sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 10_000, joinTimeoutMs: 30_000,
    keyConcurrency: 64, commitIntervalMs: 500, typedExtensions: MOORING_TYPED_EXTENSIONS, sleep: realSleep, fusion: true, shareInProcess: true, logger: silentLogger,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
  } as Resolved;
}

export class KafkaEventBus implements EventBus {
  private readonly options: Resolved;
  private readonly kafka: Kafka;
  private readonly producer: BatchingProducer;
  private readonly triggers = new Map<string, TriggerConsumer<TriggerEngine>>();
  /** Per topic, the consumer group its in-process Triggers share, and the Triggers in it. */
  private readonly shared = new Map<string, { target: SharedInProcessTarget; consumer: Promise<TriggerConsumer> }>();
  private readonly topics = new Map<string, Promise<void>>();
  private readonly ready = new Set<string>();
  private readonly logger: Logger;
  private closed = false;
  private readonly deliveryStats = newDeliveryStats();
  private readonly fusion: Fusion;
  /** The engines of the running Triggers, for fusion (rebuilt on add/remove). */
  private engines: TriggerEngine[] = [];
  /** Per partitionkey, the last fused publish until its records are queued: keeps each key's order. */
  private readonly tails = new Map<string, Promise<void>>();
  readonly capabilities: BusCapabilities = { kind: 'kafka', topics: (topic, events) => this.publishTo(topic, events) };

  stats(): DeliveryStats { return { ...this.deliveryStats }; }

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
    this.fusion = new Fusion(() => this.engines, o.fusion, this.deliveryStats);
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
    const list = Array.isArray(events) ? events : [events];
    if (this.engines.length === 0 || !this.fusion.enabled) return this.send(list);
    const fuse = list.some((e) => this.fusion.fusable(e) !== undefined);
    if (!fuse && this.tails.size === 0) return this.send(list);
    return this.publishFused(list, fuse);
  }

  /**
   * Fuses `list` (after the earlier fused publishes of the same keys queued their records, so each
   * key's order holds) and writes what is left in one acks=all write. A Trigger that kept an event
   * (its dead-letter sink down) or stopped makes the publish fail: nothing was acknowledged.
   */
  private publishFused(list: CloudEvent[], fuse: boolean): Promise<void> {
    const keys = [...new Set(list.map((e) => partitionKey(e) ?? ''))];
    const before = keys.map((k) => this.tails.get(k)).filter((p): p is Promise<void> => p !== undefined);
    if (!fuse && before.length === 0) return this.send(list);
    let acked: Promise<void> = Promise.resolve();
    const queued = (before.length === 0 ? Promise.resolve() : Promise.all(before)).then(async () => {
      const out = fuse ? await this.fusion.run(list) : { kind: 'done' as const, publish: list };
      if (out.kind !== 'done') {
        throw new MooringError('MOORING_UNAVAILABLE', out.kind === 'kept'
          ? 'an in-process Trigger kept the event: its dead-letter sink is down'
          : 'a Trigger stopped while the event was delivered');
      }
      if (out.publish.length === 0) return;
      await this.topicReady(this.topic);
      acked = this.producer.send(this.topic, out.publish.map((e) => encodeKafkaBinary(e, this.options.typedExtensions)));
    });
    const tail = queued.catch(() => undefined);
    for (const k of keys) this.tails.set(k, tail);
    void tail.then(() => { for (const k of keys) if (this.tails.get(k) === tail) this.tails.delete(k); });
    return queued.then(() => acked);
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
    await this.producer.send(topic, events.map((e) => encodeKafkaBinary(e, this.options.typedExtensions)));
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

  async addTrigger(trigger: TriggerSpec, subscriber: SubscriberInput, deadLetter?: SubscriberInput): Promise<void> {
    if (this.closed) throw closedError();
    const key = `${trigger.namespace}/${trigger.name}`;
    await this.removeTrigger(trigger.namespace, trigger.name);
    const topic = this.triggerTopic(trigger);
    const o = this.options;
    // Throws on a Trigger Knative's webhook would refuse: addTrigger rejects with it.
    const engine = new TriggerEngine(trigger, subscriber, deadLetter, {
      sleep: o.sleep, logger: this.logger.child({ trigger: key }), stats: this.deliveryStats,
    });
    await this.ensureTopic(topic);
    const perInstance = engine.subscriber.perInstance === true;
    if (o.shareInProcess && engine.inProcess && !perInstance) {
      await this.joinShared(topic, engine, trigger.namespace);
      return;
    }
    const consumer = this.consumerFor(engine, topic, o.groupId ? o.groupId(trigger) : triggerGroupId(trigger.namespace, trigger.name), perInstance ? 'latest' : o.startFrom);
    this.triggers.set(key, consumer);
    try {
      await consumer.start(this.kafka);
    } catch (e) {
      if (this.triggers.get(key) === consumer) this.triggers.delete(key);
      throw e;
    } finally {
      this.rebuild();
    }
  }

  private consumerFor<T extends ConsumerTarget>(target: T, topic: string, groupId: string, startFrom = this.options.startFrom): TriggerConsumer<T> {
    const o = this.options;
    return new TriggerConsumer(target, {
      topic,
      groupId,
      concurrency: o.partitions,
      keyConcurrency: o.keyConcurrency,
      startFrom,
      sessionTimeoutMs: o.sessionTimeoutMs,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      rebalanceTimeoutMs: o.rebalanceTimeoutMs,
      joinTimeoutMs: o.joinTimeoutMs,
      commitIntervalMs: o.commitIntervalMs,
      typedExtensions: o.typedExtensions,
      sleep: o.sleep,
      logger: this.logger,
      publish: (events) => this.send(events),
      fusion: this.fusion,
    });
  }

  /** Adds an in-process Trigger to its topic's shared group, starting the group with the first one. */
  private async joinShared(topic: string, engine: TriggerEngine, namespace: string): Promise<void> {
    let group = this.shared.get(topic);
    if (!group) {
      const target = new SharedInProcessTarget(`${topic}/in-process`);
      const name = SHARED_GROUP_TRIGGER;
      const groupId = this.options.groupId
        ? this.options.groupId({ name, namespace, broker: this.options.broker, subscriber: { uri: `in-process://${topic}` } })
        : triggerGroupId(namespace, name);
      const consumer = this.consumerFor(target, topic, groupId);
      group = { target, consumer: consumer.start(this.kafka).then(() => consumer) };
      this.shared.set(topic, group);
    }
    group.target.add(engine);
    this.rebuild();
    try {
      await group.consumer;
    } catch (e) {
      if (this.shared.get(topic) === group) this.shared.delete(topic);
      this.rebuild();
      throw e;
    }
  }

  private rebuild(): void {
    const own = [...this.triggers.values()].map((c) => c.engine);
    const shared = [...this.shared.values()].flatMap((g) => g.target.engines);
    this.engines = [...own, ...shared];
  }

  async removeTrigger(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    for (const [topic, group] of this.shared) {
      if (!group.target.remove(key)) continue;
      if (group.target.size === 0) this.shared.delete(topic);
      this.rebuild();
      if (group.target.size === 0) await (await group.consumer.catch(() => undefined))?.stop();
      return;
    }
    const consumer = this.triggers.get(key);
    if (!consumer) return;
    this.triggers.delete(key);
    this.rebuild();
    await consumer.stop();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const consumers: TriggerConsumer[] = [...this.triggers.values()];
    const groups = [...this.shared.values()];
    this.triggers.clear();
    this.shared.clear();
    const sharedConsumers = await Promise.all(groups.map((g) => g.consumer.catch(() => undefined)));
    for (const c of sharedConsumers) if (c) consumers.push(c);
    this.rebuild();
    // Consumers first: their in-flight deliveries may still publish replies.
    await Promise.all(consumers.map((c) => c.stop()));
    await this.producer.close();
  }
}

/** The name standing for a topic's shared in-process group (`knative-trigger-<ns>-mooring-in-process`). */
export const SHARED_GROUP_TRIGGER = 'mooring-in-process';

function closedError(): MooringError {
  return new MooringError('MOORING_UNAVAILABLE', 'the Kafka bus is closed');
}
