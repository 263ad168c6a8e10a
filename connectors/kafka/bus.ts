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
import { Fusion, newDeliveryStats, TriggerEngine } from '../knative/engine.ts';
import type {
  BusCapabilities, DeliveryStats, EventBus, PublishOptions, SubscriberInput, TriggerSpec,
} from '../../functions/ports/bus.ts';
import { MooringError } from '../../events/errors.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import { kafkaEncoder, type EncodedRecord } from '../../events/bindings/kafka.ts';
import { TriggerConsumer, type ConsumerTarget } from './consumer.ts';
import { SharedInProcessTarget } from './shared.ts';
import { kafkajsLogCreator } from './logging.ts';
import { BatchingProducer } from './producer.ts';
import { LagGate } from './lag-gate.ts';
import { brokerTopic, triggerGroupId } from './topics.ts';
import { resolveOptions, type KafkaEventBusOptions, type ResolvedOptions } from './options.ts';
import { KafkaProbe } from './health.ts';

export type { KafkaEventBusOptions } from './options.ts';


export class KafkaEventBus implements EventBus {
  private readonly options: ResolvedOptions;
  private readonly kafka: Kafka;
  private readonly producer: BatchingProducer;
  private readonly triggers = new Map<string, TriggerConsumer<TriggerEngine>>();
  /** Per topic, the consumer group its in-process Triggers share, and the Triggers in it. */
  private readonly shared = new Map<string, { target: SharedInProcessTarget; consumer: Promise<TriggerConsumer | undefined> }>();
  private readonly topics = new Map<string, Promise<void>>();
  private readonly ready = new Set<string>();
  private readonly logger: Logger;
  private closed = false;
  private readonly deliveryStats = newDeliveryStats();
  private readonly fusion: Fusion;
  /** The engines of the running Triggers, for fusion (rebuilt on add/remove). */
  private engines: TriggerEngine[] = [];
  /** Encoders of the broker topic's records (recordMode) and of every other topic's (binary). */
  private readonly encodeBroker: (event: CloudEvent) => EncodedRecord;
  private readonly encodeBinary: (event: CloudEvent) => EncodedRecord;
  private readonly gate: LagGate;
  /** Per partitionkey, the last fused publish until its records are queued: keeps each key's order. */
  private readonly tails = new Map<string, Promise<void>>();
  private readonly probe: KafkaProbe;
  readonly capabilities: BusCapabilities = {
    kind: 'kafka', topics: (topic, events) => this.publishTo(topic, events),
    health: {
      reachable: () => this.probe.reachable,
      consumerLag: () => [...this.triggers.values()].map((c) => ({ group: c.groupId, lag: c.lag })),
    },
  };

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
    this.encodeBroker = kafkaEncoder(o.recordMode, o.typedExtensions);
    this.encodeBinary = kafkaEncoder('binary', o.typedExtensions);
    this.probe = new KafkaProbe({ brokers: o.brokers, clientId: o.clientId });
    this.gate = new LagGate(() => this.triggers.values(), o.maxLag, o.lagStallMs);
    this.fusion = new Fusion(() => this.engines, o.fusion, this.deliveryStats, this.inProcessAtPublishOnly);
  }

  /** In-process Triggers are served by fusion alone, without a consumer group (soleWriter). */
  private get inProcessAtPublishOnly(): boolean {
    return this.options.soleWriter && this.options.fusion;
  }

  /** The topic this bus publishes to. */
  get topic(): string {
    return this.options.topic ?? brokerTopic(this.options.namespace, this.options.broker);
  }

  /** The topic a Trigger reads: the bus's topic, or its own Broker's when no topic was fixed. */
  private triggerTopic(trigger: TriggerSpec): string {
    return this.options.topic ?? brokerTopic(trigger.namespace, trigger.broker);
  }

  /** Waits while the Triggers' consumers are too far behind (./lag-gate.ts), then publishes. */
  publish(events: CloudEvent | CloudEvent[], options?: PublishOptions): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    const held = this.gate.admit(options?.unacknowledged === true);
    return held === undefined ? this.publishNow(events) : held.then(() => this.publishNow(events));
  }

  private publishNow(events: CloudEvent | CloudEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    const list = Array.isArray(events) ? events : [events];
    if (this.engines.length === 0 || !this.fusion.enabled) return this.send(list);
    const fuse = list.some((e) => this.fusion.serves(e));
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
      const n = out.publish.length;
      acked = this.producer.send(this.topic, out.publish.map(this.encodeBroker)).then(() => this.gate.wrote(n));
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
    return this.sendTo(topic, events, this.encodeBinary);
  }

  /** Publishing without the closed check: replies of deliveries still in flight during close. */
  private async send(events: CloudEvent[]): Promise<void> {
    await this.sendTo(this.topic, events, this.encodeBroker);
    this.gate.wrote(events.length);
  }

  private async sendTo(topic: string, events: CloudEvent[], encode: (event: CloudEvent) => EncodedRecord): Promise<void> {
    if (events.length === 0) return;
    await this.topicReady(topic);
    await this.producer.send(topic, events.map(encode));
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
    const o = this.options;
    // Throws on a Trigger Knative's webhook would refuse: addTrigger rejects with it.
    const engine = new TriggerEngine(trigger, subscriber, deadLetter, {
      sleep: o.sleep, logger: this.logger.child({ trigger: key }), stats: this.deliveryStats, tracer: o.tracer,
    });
    // A subscriber with its own consumer group (an application's stream) reads where it says.
    const own = engine.subscriber.consumer;
    const topic = own?.topic ?? this.triggerTopic(trigger);
    await this.ensureTopic(topic);
    // A per-instance Trigger (routed commands) reads what other instances address to this one:
    // never shared, never served at publish only, its own group from the end.
    const perInstance = engine.subscriber.perInstance === true;
    if ((o.shareInProcess || this.inProcessAtPublishOnly) && engine.inProcess && !perInstance && own === undefined) {
      await this.joinShared(topic, engine, trigger.namespace);
      return;
    }
    const groupId = own?.groupId ?? (o.groupId ? o.groupId(trigger) : triggerGroupId(trigger.namespace, trigger.name));
    const consumer = this.consumerFor(engine, topic, groupId, own?.startFrom ?? (perInstance ? 'latest' : o.startFrom));
    // An application's pull stream lags at its reader's pace, which holds back only that group (Kafka keeps
    // its events): the gate follows the Triggers that deliver the pipeline's events, not the readers.
    if (own === undefined) this.gate.track(consumer);
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
      fetchMinBytes: o.fetchMinBytes,
      fetchMaxWaitMs: o.fetchMaxWaitMs,
      typedExtensions: o.typedExtensions,
      sleep: o.sleep,
      logger: this.logger,
      publish: (events) => this.send(events),
      fusion: this.fusion,
      onProgress: () => this.gate.progress(),
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
      // soleWriter: fusion serves these Triggers at publish; nothing has to be read back.
      const consumer = this.inProcessAtPublishOnly ? undefined : this.consumerFor(target, topic, groupId);
      group = { target, consumer: consumer ? consumer.start(this.kafka).then(() => consumer) : Promise.resolve(undefined) };
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
    this.gate.close();
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
    await this.probe.close();
  }
}

/** The name standing for a topic's shared in-process group (`knative-trigger-<ns>-mooring-in-process`). */
export const SHARED_GROUP_TRIGGER = 'mooring-in-process';

function closedError(): MooringError {
  return new MooringError('MOORING_UNAVAILABLE', 'the Kafka bus is closed');
}
