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
import { MOORING_TYPED_EXTENSIONS } from '../../../connectors/kafka/binding.ts';
import { realSleep } from '../../../connectors/broker/delivery.ts';
import { MooringError } from '../../../functions/errors.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';
import type { TriggerSpec } from '../../../functions/ports/bus.ts';
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

test('a record is committed only after its reply is in Kafka', async () => {
  const { brokers } = await ensureKafka();
  const topic = uniqueName('mooring-reply-commit');
  const groupId = uniqueName('reply-group');
  const bus = new KafkaEventBus({ brokers, topic, partitions: 1 });
  const kafka = new Kafka({ clientId: 'reply-commit-test', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const trigger: TriggerSpec = {
    name: 'reply', namespace: 'default', broker: 'default', subscriber: { uri: 'http://fn.test' },
    filter: { attributes: { type: 'io.mooring.test.cause' } },
  };
  let blocked = true;
  let publishAttempts = 0;
  const published: CloudEvent[] = [];
  const consumer = new TriggerConsumer(trigger, async (e) => testEvent('io.mooring.test.reply', { partitionkey: String(e.extensions.partitionkey) }), undefined, {
    topic, groupId, concurrency: 1, startFrom: 'earliest', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000,
    rebalanceTimeoutMs: 10_000, joinTimeoutMs: 30_000, commitIntervalMs: 0, typedExtensions: MOORING_TYPED_EXTENSIONS,
    sleep: realSleep, logger: silentLogger,
    publish: async (events) => {
      publishAttempts++;
      if (blocked) throw new MooringError('MOORING_UNAVAILABLE', 'Kafka is down (test)');
      await bus.publishTo(topic, events);
      published.push(...events);
    },
  });
  const committed = async (): Promise<string> => {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t?.partitions.find((p) => p.partition === 0)?.offset ?? '-1';
  };
  try {
    await admin.connect();
    await bus.publish(testEvent('io.mooring.test.cause', { partitionkey: 'k' }));
    await consumer.start(kafka);
    assert.ok(await waitUntil(() => publishAttempts >= 3, 20_000), 'the reply publish was retried');
    assert.is(await committed(), '-1', 'nothing committed while the reply is not in Kafka');
    blocked = false;
    assert.ok(await waitUntil(() => published.length === 1, 20_000), 'the reply was published');
    assert.ok(await waitUntil(async () => Number(await committed()) >= 1, 20_000), 'then the cause was committed');
    console.log(`[reply-commit] reply publish attempts=${publishAttempts} committed offset=${await committed()}`);
  } finally {
    await consumer.stop();
    await admin.disconnect();
    await bus.close();
  }
});

test.run();
