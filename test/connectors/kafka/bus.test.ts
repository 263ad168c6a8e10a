// KafkaEventBus on a real Kafka (test/helpers/kafka.ts): the shared EventBus contract, then what
// only Kafka has: the wire format other Kafka clients see, offsets committed only for final
// outcomes, and publish refusing (never hanging) when Kafka cannot acknowledge.

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaEventBus, type KafkaEventBusOptions } from '../../../connectors/kafka/bus.ts';
import { deliveryFailed, isMooringError } from '../../../events/errors.ts';
import { type SubscriberRef, type TriggerSpec } from '../../../functions/ports/bus.ts';
import { eventBusContract, Inbox, testEvent } from '../../contracts/event-bus.ts';
import { bindingsContract } from '../../contracts/bindings.ts';
import { ensureKafka, uniqueName } from '../../helpers/kafka.ts';

const noSleep = async (): Promise<void> => {};
// No top-level await: the suite runner loads test files as CommonJS.
async function newBus(options: Partial<KafkaEventBusOptions> = {}): Promise<KafkaEventBus> {
  const kafka = await ensureKafka();
  return new KafkaEventBus({ brokers: kafka.brokers, topic: uniqueName('mooring-test'), sleep: noSleep, ...options });
}

eventBusContract('kafka', async (options) => {
  const bus = await newBus(options);
  return { bus, cleanup: () => bus.close() };
});
bindingsContract('kafka', async () => { const bus = await newBus(); return { bus, cleanup: () => bus.close() }; });

const test = suite('KafkaEventBus');

const trigger = (name: string, type: string, extra: Partial<TriggerSpec> = {}): TriggerSpec => ({
  name: `${name}-${randomUUID().slice(0, 8)}`, namespace: 'default', broker: 'default',
  subscriber: { uri: 'http://sink.test' }, filter: { attributes: { type } }, ...extra,
});

test('events are records in binary mode: ce_ headers, content-type, key = partitionkey, value = data', async () => {
  const bus = await newBus();
  const plain = new Kafka({ clientId: 'plain-reader', brokers: (await ensureKafka()).brokers, logLevel: logLevel.NOTHING });
  const consumer = plain.consumer({ groupId: uniqueName('plain'), sessionTimeout: 10_000 });
  try {
    const e = testEvent('io.mooring.test.wire', { partitionkey: 'app/dev', qos: 1 }, { subject: 'temp' }, '{"t":1}');
    await bus.publish(e);
    await consumer.connect();
    await consumer.subscribe({ topics: [bus.topic], fromBeginning: true });
    const record = await new Promise<{ key: string; value: string; headers: Record<string, string> }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          resolve({ key: String(message.key), value: String(message.value), headers });
        },
      });
    });
    assert.is(record.key, 'app/dev');
    assert.is(record.value, '{"t":1}');
    assert.is(record.headers.ce_id, e.id);
    assert.is(record.headers.ce_type, 'io.mooring.test.wire');
    assert.is(record.headers.ce_subject, 'temp');
    assert.is(record.headers.ce_qos, '1');
    assert.is(record.headers['content-type'], 'text/plain');
  } finally {
    await consumer.disconnect();
    await bus.close();
  }
});

test('an event whose delivery was not final when the bus closed is delivered again by the next bus', async () => {
  const topic = uniqueName('mooring-redeliver');
  const type = 'io.mooring.test.redeliver';
  const spec = trigger('redeliver', type, { delivery: { retry: 1000, backoffDelay: 'PT0.05S', backoffPolicy: 'linear' } });
  const first = await newBus({ topic, sleep: undefined });
  let attempts = 0;
  const firstAttempt = new Inbox(30_000);
  await first.addTrigger(spec, async (event) => {
    attempts++;
    firstAttempt.push(event);
    throw deliveryFailed('down', 503);
  });
  const e = testEvent(type, { partitionkey: 'k' });
  await first.publish(e);
  await firstAttempt.untilCount(1);
  await first.close();
  assert.ok(attempts >= 1);

  const second = await newBus({ topic });
  const got = new Inbox(30_000);
  await second.addTrigger(spec, got.subscriber);
  try {
    await got.untilId(e.id);
  } finally {
    await second.close();
  }
});

test('a delivered event is committed: the group does not see it again after a restart', async () => {
  const topic = uniqueName('mooring-commit');
  const type = 'io.mooring.test.commit';
  const spec = trigger('commit', type);
  const first = await newBus({ topic });
  const got = new Inbox(30_000);
  await first.addTrigger(spec, got.subscriber);
  const e1 = testEvent(type, { partitionkey: 'k' });
  await first.publish(e1);
  await got.untilId(e1.id);
  await first.close();

  const second = await newBus({ topic });
  const again = new Inbox(30_000);
  await second.addTrigger(spec, again.subscriber);
  const e2 = testEvent(type, { partitionkey: 'k' });
  await second.publish(e2);
  try {
    await again.untilId(e2.id);
    assert.equal(again.ids(), [e2.id]);
  } finally {
    await second.close();
  }
});

test('fusion: a publish whose every Trigger is in-process is one write of the final event, done when publish resolves', async () => {
  const bus = await newBus({ partitions: 1 });
  const raw = 'io.mooring.test.fuse.raw';
  const mid = 'io.mooring.test.fuse.mid';
  const final = 'io.mooring.test.fuse.final';
  const stage = (to: string): SubscriberRef => ({
    name: to, inProcess: true, call: async (event) => ({ ...event, type: to }),
  });
  const app = new Inbox(30_000);
  const plain = new Kafka({ clientId: 'plain-fuse', brokers: (await ensureKafka()).brokers, logLevel: logLevel.NOTHING });
  const admin = plain.admin();
  try {
    await bus.addTrigger(trigger('fa', raw), stage(mid));
    await bus.addTrigger(trigger('fb', mid), stage(final));
    await bus.addTrigger(trigger('fc', final), app.subscriber);
    const n = 50;
    const events = Array.from({ length: n }, (_, i) => testEvent(raw, { partitionkey: `dev${i % 5}` }));
    await Promise.all(events.map((e) => bus.publish(e)));
    // Every publish resolved: its record is in Kafka already (acks=all), nothing else is.
    await admin.connect();
    const records = (await admin.fetchTopicOffsets(bus.topic)).reduce((sum, p) => sum + Number(p.high), 0);
    await app.untilCount(n);
    const types = new Set(app.events.map((e) => e.type));
    console.log(`[fusion-kafka] publishes=${n} records in Kafka=${records} delivered=${app.events.length} fused=${bus.stats().fused}`);
    assert.is(records, n, 'one record per publish');
    assert.equal([...types], [final]);
    assert.equal(app.events.map((e) => e.id).sort(), events.map((e) => e.id).sort());
  } finally {
    await admin.disconnect();
    await bus.close();
  }
});

test('publish rejects with MOORING_BUS_FULL when its pending buffer is over capacity', async () => {
  const bus = await newBus({ maxPending: 3 });
  try {
    const events = Array.from({ length: 4 }, () => testEvent('io.mooring.test.full'));
    const err = await bus.publish(events).then(() => undefined, (e: unknown) => e);
    assert.ok(isMooringError(err, 'MOORING_BUS_FULL'), String(err));
    await bus.publish(events.slice(0, 3));
  } finally {
    await bus.close();
  }
});

test('publish rejects with MOORING_UNAVAILABLE, in bounded time, when Kafka is unreachable', async () => {
  // A port that accepts nothing: bound, then closed again.
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const bus = new KafkaEventBus({ brokers: [`127.0.0.1:${port}`], topic: 'unreachable', publishTimeoutMs: 1500 });
  try {
    const err = await bus.publish(testEvent('io.mooring.test.down')).then(() => undefined, (e: unknown) => e);
    assert.ok(isMooringError(err, 'MOORING_UNAVAILABLE'), String(err));
  } finally {
    await bus.close();
  }
});

test('a closed bus refuses publish', async () => {
  const bus = await newBus();
  await bus.close();
  const err = await bus.publish(testEvent('io.mooring.test.closed')).then(() => undefined, (e: unknown) => e);
  assert.ok(isMooringError(err, 'MOORING_UNAVAILABLE'), String(err));
});

test.run();
