// The in-process Triggers of a topic share one consumer group on Kafka (connectors/kafka/shared.ts),
// on a real Kafka: one group instead of one per Trigger, every matching Trigger still receives
// each event exactly once, and a record one Trigger keeps (its dead-letter sink down) reaches the
// others once, its replies are published once, and it reaches the kept Trigger's sink once the
// sink is back. A per-instance Trigger (a gateway's routed commands) is not in the shared group:
// two processes split that group's partitions, and each must see everything addressed to it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { KafkaEventBus, SHARED_GROUP_TRIGGER } from '../../../connectors/kafka/bus.ts';
import { deliveryFailed } from '../../../events/errors.ts';
import type { Subscriber, SubscriberRef, TriggerSpec } from '../../../functions/ports/bus.ts';
import { testEvent } from '../../contracts/event-bus.ts';
import { ensureKafka, uniqueName } from '../../helpers/kafka.ts';

const noWait = async (): Promise<void> => { await new Promise((r) => setTimeout(r, 5)); };

async function waitUntil(probe: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (probe()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return probe();
}

/** A function of this process, declared so (as connectors/knative/resolver.ts declares the pipeline's). */
const fn = (name: string, call: Subscriber): SubscriberRef => ({ call, inProcess: true, name });

function trigger(name: string, type: string, extra: Partial<TriggerSpec> = {}): TriggerSpec {
  return { name, namespace: 'default', broker: 'default', subscriber: { uri: `http://${name}.test` }, filter: { attributes: { type } }, ...extra };
}

async function groupsOf(brokers: string[], prefix: string): Promise<string[]> {
  const admin = new Kafka({ clientId: 'shared-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix)).sort();
  } finally {
    await admin.disconnect();
  }
}

async function busFor(prefix: string, shareInProcess: boolean): Promise<{ bus: KafkaEventBus; brokers: string[] }> {
  const { brokers } = await ensureKafka();
  // Fusion off: every event goes through Kafka, so the consumer groups are what delivers.
  const bus = new KafkaEventBus({
    brokers, topic: `${prefix}-broker`, partitions: 2, groupId: (t) => `${prefix}-${t.name}`, fusion: false, shareInProcess, sleep: noWait,
  });
  return { bus, brokers };
}

test('in-process Triggers of a topic share one consumer group; each still receives every event once', async () => {
  for (const share of [true, false]) {
    const prefix = uniqueName(share ? 'shared' : 'own');
    const { bus, brokers } = await busFor(prefix, share);
    const seen = { a: [] as string[], b: [] as string[] };
    try {
      await bus.addTrigger(trigger('a', 'sh.x'), fn('a', async (e) => { seen.a.push(e.id); }));
      await bus.addTrigger(trigger('b', 'sh.x'), fn('b', async (e) => { seen.b.push(e.id); }));
      const events = Array.from({ length: 20 }, (_, i) => testEvent('sh.x', { partitionkey: `k${i % 4}` }));
      await bus.publish(events);
      await waitUntil(() => seen.a.length >= 20 && seen.b.length >= 20, 30_000);
      await new Promise((r) => setTimeout(r, 500));
      const groups = await groupsOf(brokers, prefix);
      console.log(`[shared-group] share=${share} groups=${groups.map((g) => g.slice(prefix.length + 1)).join(',')} a=${seen.a.length} b=${seen.b.length}`);
      assert.equal([...seen.a].sort(), events.map((e) => e.id).sort(), 'a received every event once');
      assert.equal([...seen.b].sort(), events.map((e) => e.id).sort(), 'b received every event once');
      assert.equal(groups, share ? [`${prefix}-${SHARED_GROUP_TRIGGER}`] : [`${prefix}-a`, `${prefix}-b`]);
    } finally {
      await bus.close();
    }
  }
});

test('a record one shared Trigger keeps reaches the others once, its replies once, and the kept sink after recovery', async () => {
  const prefix = uniqueName('sharedkept');
  const { bus } = await busFor(prefix, true);
  let sinkUp = false;
  let sinkAttempts = 0;
  const dead: CloudEvent[] = [];
  const b: string[] = [];
  const c: string[] = [];
  try {
    // a refuses for good (400): its dead-letter sink is down until told otherwise.
    await bus.addTrigger(trigger('a', 'sk.x', { delivery: { retry: 0, deadLetterSink: { uri: 'http://dead.test' } } }),
      fn('a', async () => { throw deliveryFailed('refused', 400); }),
      async (e) => {
        sinkAttempts++;
        if (!sinkUp) throw deliveryFailed('dead-letter sink down', 503);
        dead.push(e);
      });
    // b takes it and replies; c serves the reply (through Kafka: fusion is off).
    await bus.addTrigger(trigger('b', 'sk.x'), fn('b', async (e) => {
      b.push(e.id);
      return testEvent('sk.reply', { partitionkey: 'r' }, { id: `reply-${e.id}` });
    }));
    await bus.addTrigger(trigger('c', 'sk.reply'), fn('c', async (e) => { c.push(e.id); }));
    const e = testEvent('sk.x', { partitionkey: randomUUID() });
    await bus.publish(e);
    assert.ok(await waitUntil(() => sinkAttempts >= 2, 30_000), 'the kept record was tried again');
    const bWhileKept = b.length;
    const cWhileKept = c.length;
    sinkUp = true;
    assert.ok(await waitUntil(() => dead.length === 1 && c.length >= 1, 30_000), 'sink and reply reached');
    await new Promise((r) => setTimeout(r, 1000));
    console.log(`[shared-kept] sinkAttempts=${sinkAttempts} b=${b.length} (while kept ${bWhileKept}) replies=${c.length} (while kept ${cWhileKept}) deadLetters=${dead.length}`);
    assert.is(bWhileKept, 1, 'b took the record while a kept it');
    assert.is(b.length, 1, 'b was not given the record again');
    assert.is(cWhileKept, 0, 'the reply waits until the record is final');
    assert.equal(c, [`reply-${e.id}`], 'the reply was published once');
    assert.is(dead.length, 1);
    assert.is(dead[0]!.id, e.id);
  } finally {
    await bus.close();
  }
});

test('two processes on one topic: a per-instance Trigger has a group of its own and receives what is addressed to its instance', async () => {
  // Two buses stand for two Mooring processes; both share the in-process group, whose partitions
  // are split between them. Each has its own instance's Trigger (perInstance): an event addressed
  // to instance 2, published by process 1, must reach process 2 whatever partition it is on.
  const prefix = uniqueName('perinst');
  const [p1, p2] = [await busFor(prefix, true), await busFor(prefix, true)];
  const got = { i1: [] as string[], i2: [] as string[], shared: [] as string[] };
  const mine = (instance: 'i1' | 'i2'): SubscriberRef => ({ call: async (e) => { got[instance].push(e.id); }, inProcess: true, perInstance: true, name: instance });
  const addressed = (instance: string): Partial<TriggerSpec> => ({ filter: { attributes: { type: 'pi.cmd', holder: instance } } });
  try {
    for (const [p, instance] of [[p1, 'i1'], [p2, 'i2']] as const) {
      await p.bus.addTrigger(trigger('pipeline', 'pi.other'), fn('pipeline', async (e) => { got.shared.push(e.id); }));
      await p.bus.addTrigger(trigger(`commands-${instance}`, 'pi.cmd', addressed(instance)), mine(instance));
    }
    const events = Array.from({ length: 16 }, (_, i) => testEvent('pi.cmd', { partitionkey: `k${i}`, holder: 'i2' }));
    await p1.bus.publish(events);
    await waitUntil(() => got.i2.length >= 16, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const groups = (await groupsOf(p1.brokers, prefix)).map((g) => g.slice(prefix.length + 1));
    console.log(`[per-instance] groups=${groups.join(',')} i1=${got.i1.length} i2=${got.i2.length}`);
    assert.equal([...got.i2].sort(), events.map((e) => e.id).sort(), 'instance 2 received every event addressed to it once');
    assert.equal(got.i1, [], 'instance 1 received none');
    assert.equal(groups, ['commands-i1', 'commands-i2', SHARED_GROUP_TRIGGER]);
  } finally {
    await p1.bus.close();
    await p2.bus.close();
  }
});

test.run();
