// TriggerConsumer's commit rule for replies, on a real Kafka: a record whose subscriber replied is
// committed only after the reply is in Kafka. While the reply cannot be published the group's
// offset stays where it was (a crash then redelivers the cause, so its reply is not lost); once
// the reply is published the offset moves past the record. In single-host mode this is what makes
// a raw publish's offset wait for its normalized event, and that one's for the final event.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kafka, logLevel } from 'kafkajs';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { KafkaEventBus } from '../../../connectors/kafka/bus.ts';
import { TriggerConsumer } from '../../../connectors/kafka/consumer.ts';
import { MOORING_TYPED_EXTENSIONS } from '../../../events/bindings/extensions.ts';
import { realSleep } from '../../../connectors/knative/delivery.ts';
import { newDeliveryStats, TriggerEngine } from '../../../connectors/knative/engine.ts';
import { MooringError } from '../../../events/errors.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';
import type { Subscriber, TriggerSpec } from '../../../functions/ports/bus.ts';
import { testEvent } from '../../contracts/event-bus.ts';
import { ensureKafka, uniqueName } from '../../helpers/kafka.ts';

const waitUntil = async (probe: () => boolean | Promise<boolean>, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

/** One TriggerConsumer on its own one-partition topic and group, with the group's committed offset. */
interface Fixture {
  bus: KafkaEventBus;
  topic: string;
  start(): Promise<void>;
  /** The group's committed offset of partition 0 (-1: none). */
  committed(): Promise<number>;
  close(): Promise<void>;
}

async function fixture(name: string, type: string, subscriber: Subscriber, options: {
  keyConcurrency: number;
  /** Default: the reply goes to the fixture's topic. */
  publish?: (events: CloudEvent[], bus: KafkaEventBus, topic: string) => Promise<void>;
}): Promise<Fixture> {
  const { brokers } = await ensureKafka();
  const topic = uniqueName(`mooring-${name}`);
  const groupId = uniqueName(`${name}-group`);
  const bus = new KafkaEventBus({ brokers, topic, partitions: 1 });
  const kafka = new Kafka({ clientId: `${name}-test`, brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const trigger: TriggerSpec = {
    name, namespace: 'default', broker: 'default', subscriber: { uri: 'http://fn.test' }, filter: { attributes: { type } },
  };
  const publish = options.publish ?? ((events: CloudEvent[]) => bus.publishTo(topic, events));
  const engine = new TriggerEngine(trigger, subscriber, undefined, { sleep: realSleep, logger: silentLogger, stats: newDeliveryStats() });
  const consumer = new TriggerConsumer(engine, {
    topic, groupId, concurrency: 1, keyConcurrency: options.keyConcurrency, startFrom: 'earliest', sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 10_000, joinTimeoutMs: 30_000, commitIntervalMs: 0,
    typedExtensions: MOORING_TYPED_EXTENSIONS, sleep: realSleep, logger: silentLogger,
    publish: (events: CloudEvent[]) => publish(events, bus, topic),
  });
  await admin.connect();
  return {
    bus,
    topic,
    start: () => consumer.start(kafka),
    async committed() {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return Number(t?.partitions.find((p) => p.partition === 0)?.offset ?? '-1');
    },
    async close() {
      await consumer.stop();
      await admin.disconnect();
      await bus.close();
    },
  };
}

test('a record is committed only after its reply is in Kafka', async () => {
  let blocked = true;
  let publishAttempts = 0;
  const published: CloudEvent[] = [];
  const f = await fixture('reply', 'io.mooring.test.cause', async (e) => testEvent('io.mooring.test.reply', { partitionkey: String(e.extensions.partitionkey) }), {
    keyConcurrency: 1,
    publish: async (events, bus, topic) => {
      publishAttempts++;
      if (blocked) throw new MooringError('MOORING_UNAVAILABLE', 'Kafka is down (test)');
      await bus.publishTo(topic, events);
      published.push(...events);
    },
  });
  try {
    await f.bus.publish(testEvent('io.mooring.test.cause', { partitionkey: 'k' }));
    await f.start();
    assert.ok(await waitUntil(() => publishAttempts >= 3, 20_000), 'the reply publish was retried');
    assert.is(await f.committed(), -1, 'nothing committed while the reply is not in Kafka');
    blocked = false;
    assert.ok(await waitUntil(() => published.length === 1, 20_000), 'the reply was published');
    assert.ok(await waitUntil(async () => (await f.committed()) >= 1, 20_000), 'then the cause was committed');
    console.log(`[reply-commit] reply publish attempts=${publishAttempts} committed offset=${await f.committed()}`);
  } finally {
    await f.close();
  }
});

test('keys of one partition are delivered concurrently, each in order; nothing past an unfinished record is committed', async () => {
  const delivered: string[] = [];
  let releaseA!: () => void;
  const aMayFinish = new Promise<void>((r) => { releaseA = r; });
  const f = await fixture('lanes', 'io.mooring.test.lane', async (e) => {
    const key = String(e.extensions.partitionkey);
    const n = Number(e.extensions.n);
    // A's first record finishes only after B's last one was delivered: one record at a time
    // per partition could never get there.
    if (key === 'A' && n === 0) await aMayFinish;
    delivered.push(`${key}${n}`);
    if (key === 'B' && n === 4) releaseA();
    return undefined;
  }, { keyConcurrency: 8 });
  try {
    const events = [];
    for (let n = 0; n < 5; n++) {
      events.push(testEvent('io.mooring.test.lane', { partitionkey: 'A', n }));
      events.push(testEvent('io.mooring.test.lane', { partitionkey: 'B', n }));
    }
    await f.bus.publish(events); // offsets: A0=0, B0=1, A1=2, …
    await f.start();
    assert.ok(await waitUntil(() => delivered.length === 10, 30_000), `all delivered: ${delivered.join(',')}`);
    assert.equal(delivered.filter((d) => d.startsWith('A')), ['A0', 'A1', 'A2', 'A3', 'A4'], 'A in order');
    assert.equal(delivered.filter((d) => d.startsWith('B')), ['B0', 'B1', 'B2', 'B3', 'B4'], 'B in order');
    assert.is(delivered[0], 'B0', 'B did not wait for A');
    assert.ok(await waitUntil(async () => (await f.committed()) === 10, 20_000), 'everything committed at the end');
  } finally {
    releaseA();
    await f.close();
  }
});

test('the replies of a key\'s records are published together, in order, before those records are committed', async () => {
  const calls: CloudEvent[][] = [];
  const f = await fixture('runs', 'io.mooring.test.run', async (e) => testEvent('io.mooring.test.run-reply', {
    partitionkey: String(e.extensions.partitionkey), n: Number(e.extensions.n),
  }), {
    keyConcurrency: 8,
    publish: async (events, bus, topic) => {
      calls.push(events);
      await bus.publishTo(topic, events);
    },
  });
  try {
    await f.bus.publish(Array.from({ length: 40 }, (_, n) => testEvent('io.mooring.test.run', { partitionkey: 'k', n })));
    await f.start();
    assert.ok(await waitUntil(() => calls.flat().length === 40, 30_000), `all replies published: ${calls.flat().length}`);
    assert.ok(calls.length < 40, `replies go out in runs, not one acknowledgement wait per record (${calls.length} publishes)`);
    assert.equal(calls.flat().map((e) => e.extensions.n), Array.from({ length: 40 }, (_, n) => n), 'in order');
    assert.ok(await waitUntil(async () => (await f.committed()) >= 40, 20_000), 'committed after the replies are in Kafka');
  } finally {
    await f.close();
  }
});

test('while a key\'s first record is unfinished, the records after it stay uncommitted', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let others = 0;
  const f = await fixture('low', 'io.mooring.test.low', async (e) => {
    if (e.extensions.partitionkey === 'slow') await gate;
    else others++;
    return undefined;
  }, { keyConcurrency: 8 });
  try {
    await f.bus.publish([
      testEvent('io.mooring.test.low', { partitionkey: 'fast' }), // offset 0
      testEvent('io.mooring.test.low', { partitionkey: 'slow' }), // offset 1: unfinished
      ...Array.from({ length: 5 }, () => testEvent('io.mooring.test.low', { partitionkey: 'fast2' })),
    ]);
    await f.start();
    assert.ok(await waitUntil(() => others === 6, 30_000), 'the other keys were delivered');
    await new Promise((r) => setTimeout(r, 1000));
    assert.is(await f.committed(), 1, 'committed up to the unfinished record, not past it');
    release();
    assert.ok(await waitUntil(async () => (await f.committed()) === 7, 20_000), 'all committed once it finished');
  } finally {
    release();
    await f.close();
  }
});

test.run();
