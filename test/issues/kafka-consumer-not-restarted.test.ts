// Regression: a Trigger's consumer group stopped consuming for good after a Kafka restart. kafkajs
// restarts a crashed consumer only after errors it deems retriable, and some states a restarting
// broker passes through are not among them (KafkaJSGroupCoordinatorNotFound while the offsets
// topic cannot be served; kafkajs issues 1445 and 1630). A fresh-clone CI run lost every PUBACKed
// message published after the outage of test/e2e/kafka-outage.test.ts that way.
//
// Provoked here on a real broker: its offsets topic asks for two replicas on a one-broker cluster,
// so no group coordinator can exist and kafkajs gives up (CRASH with restart=false). The broker is
// then restarted with one replica: the consumer Mooring put in place of the dead one joins and
// delivers.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { TriggerConsumer, type ConsumerTarget } from '../../connectors/kafka/consumer.ts';
import { KafkaEventBus } from '../../connectors/kafka/bus.ts';
import { realSleep } from '../../connectors/knative/delivery.ts';
import type { Outcome } from '../../connectors/knative/engine.ts';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { MOORING_TYPED_EXTENSIONS } from '../../events/bindings/extensions.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import { testEvent } from '../contracts/event-bus.ts';
import { startOwnKafka, type OwnKafka } from '../helpers/kafka.ts';

let kafka: OwnKafka | undefined;

test.after(async () => {
  await kafka?.close();
});

function setOffsetsReplicas(dir: string, n: number): void {
  const path = join(dir, 'server.properties');
  writeFileSync(path, readFileSync(path, 'utf8').replace(/^offsets\.topic\.replication\.factor=.*$/m, `offsets.topic.replication.factor=${n}`));
}

/** A logger that records the messages (and their fields) it is given. */
function recordingLogger(lines: { msg: string; fields: Record<string, unknown> }[]): Logger {
  const log = (fields: object | string, msg?: string): void => {
    if (typeof fields === 'string') lines.push({ msg: fields, fields: {} });
    else lines.push({ msg: msg ?? '', fields: fields as Record<string, unknown> });
  };
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

const waitUntil = async (probe: () => boolean, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (probe()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return probe();
};

test('a consumer kafkajs does not restart after a crash is replaced, and the group consumes again', async () => {
  kafka = await startOwnKafka('coordinator');
  // Before any group exists: the offsets topic is created on first use, with the replicas asked for.
  await kafka.stop();
  setOffsetsReplicas(kafka.dir, 2);
  await kafka.restart();

  const topic = 'mooring-coordinator-test';
  const bus = new KafkaEventBus({ brokers: kafka.brokers, topic, partitions: 1 });
  await bus.ensureTopic(topic);
  const delivered: CloudEvent[] = [];
  const target: ConsumerTarget = {
    id: 'default/coordinator',
    match: () => true,
    deliver: async (event): Promise<Outcome> => { delivered.push(event); return { kind: 'done', replies: [] }; },
    pause: () => realSleep(200),
    stop: () => undefined,
  };
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  const consumer = new TriggerConsumer(target, {
    topic, groupId: 'coordinator-group', concurrency: 1, keyConcurrency: 1, startFrom: 'earliest', sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 10_000, joinTimeoutMs: 240_000, commitIntervalMs: 0,
    typedExtensions: MOORING_TYPED_EXTENSIONS, sleep: realSleep, logger: recordingLogger(lines),
    publish: async () => undefined,
  });
  const client = new Kafka({
    clientId: 'coordinator-test', brokers: kafka.brokers, logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
  });
  const started = consumer.start(client);
  started.catch(() => undefined);
  try {
    const gaveUp = () => lines.some((l) => l.msg === 'Kafka consumer crashed' && l.fields.restart === false);
    assert.ok(await waitUntil(gaveUp, 180_000), 'kafkajs gave up on the consumer (CRASH with restart=false)');
    const giveUp = lines.find((l) => l.msg === 'Kafka consumer crashed' && l.fields.restart === false)!;
    console.log(`  kafkajs gave up: ${String(giveUp.fields.errName)}: ${String(giveUp.fields.err)}; restarting the broker with one offsets replica`);

    await kafka.stop();
    setOffsetsReplicas(kafka.dir, 1);
    await kafka.restart();
    await started;
    await bus.publishTo(topic, [testEvent('io.drogue.event.v1', { partitionkey: 'd1' }, { id: 'after-restart' })]);
    const got = await waitUntil(() => delivered.some((e) => e.id === 'after-restart'), 120_000);
    console.log(`  replacements=${consumer.replacements} delivered=${delivered.length}`);
    assert.ok(consumer.replacements >= 1, 'the dead consumer was replaced');
    assert.ok(got, 'the event published after the restart was delivered');
  } finally {
    await consumer.stop();
    await bus.close();
  }
});

test.run();
