// EventBus.quiet on the embedded broker: a partition key is quiet only while nothing of it waits
// for room, is queued, is in delivery, or has replies not yet routed; and a connection event the
// MQTT gateway publishes unmarked on a quiet bus is exactly what normalize + content-type make of
// the marked one (so skipping the pass-through changes nothing an application sees).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { STAGE_EXTENSION, Stage } from '../../../events/stage.ts';
import { InMemoryEventBus } from '../../../connectors/broker/memory.ts';
import { connectionEvent, sessionIdentity } from '../../../connectors/mqtt/events.ts';
import { normalizePublish } from '../../../functions/normalize/index.ts';
import { applyContentType } from '../../../functions/content-type/index.ts';
import type { FunctionContext } from '../../../functions/ports/runtime.ts';
import { testEvent } from '../../contracts/event-bus.ts';

const trigger = (name: string, type: string) => ({ name, namespace: 'default', broker: 'mooring', filter: { attributes: { type } }, subscriber: { uri: name } });

/** A subscriber that holds each event until `release()`; `seen` counts the events it got. */
function gate(reply?: (e: CloudEvent) => CloudEvent) {
  const waiting: Array<() => void> = [];
  const g = {
    seen: 0,
    call: (e: CloudEvent): Promise<CloudEvent | undefined> => new Promise((resolve) => {
      g.seen++;
      waiting.push(() => resolve(reply?.(e)));
    }),
    release: (): void => { for (const r of waiting.splice(0)) r(); },
  };
  return g;
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

test('a key is not quiet while queued, in delivery, or while its replies are in the next Trigger', async () => {
  const bus = new InMemoryEventBus();
  const first = gate((e) => ({ ...e, type: 'second' }));
  const second = gate();
  await bus.addTrigger(trigger('first', 'first'), first.call);
  await bus.addTrigger(trigger('second', 'second'), second.call);
  assert.ok(bus.quiet('app/dev1'), 'nothing published yet');
  await bus.publish(testEvent('first', { partitionkey: 'app/dev1' }));
  assert.not.ok(bus.quiet('app/dev1'), 'queued');
  assert.ok(bus.quiet('app/dev2'), 'another key');
  await settle();
  assert.is(first.seen, 1);
  assert.not.ok(bus.quiet('app/dev1'), 'in delivery');
  first.release();
  await settle();
  assert.is(second.seen, 1);
  assert.not.ok(bus.quiet('app/dev1'), 'its reply in delivery on the second Trigger');
  second.release();
  await bus.idle();
  assert.ok(bus.quiet('app/dev1'), 'done everywhere');
  console.log(`quiet checks: 7, deliveries: ${first.seen + second.seen}`);
  await bus.close();
  assert.not.ok(bus.quiet('app/dev1'), 'a closed bus is never quiet');
});

test('no key is quiet while publishes wait for room in a full bus (they are not routed yet)', async () => {
  const bus = new InMemoryEventBus({ capacity: 1, fullWaitMs: 10_000 });
  const held = gate();
  await bus.addTrigger(trigger('held', 't'), held.call);
  await bus.publish(testEvent('t', { partitionkey: 'app/a' }));
  const waiting = bus.publish(testEvent('t', { partitionkey: 'app/b' }));
  assert.not.ok(bus.quiet('app/b'), 'app/b waits for room');
  assert.not.ok(bus.quiet('app/c'), 'a later event of any key would queue behind the waiting one');
  held.release();
  await waiting;
  await settle();
  held.release();
  await bus.idle();
  assert.ok(bus.quiet('app/b'));
  await bus.close();
});

test('a connection event published on a quiet bus is what normalize and content-type make of the raw one', async () => {
  const ctx = { instance: 'i1' } as FunctionContext;
  const who = sessionIdentity('app1', 'dev1', 'drogue/v1', 'uid-a', 'uid-d');
  let compared = 0;
  for (const connected of [true, false]) {
    const raw = connectionEvent('id-1', '2026-12-06T00:00:00Z', who, 'i1', connected);
    assert.is(raw.extensions[STAGE_EXTENSION], Stage.raw);
    const viaPipeline = applyContentType(await normalizePublish(raw, ctx));
    const direct = connectionEvent('id-1', '2026-12-06T00:00:00Z', who, 'i1', connected, { quiet: () => true });
    assert.equal(direct, viaPipeline);
    assert.equal(Object.keys(direct.extensions).sort(), Object.keys(viaPipeline.extensions).sort());
    // A busy key (or a bus without quiet) keeps the mark.
    assert.is(connectionEvent('id-1', 't', who, 'i1', connected, { quiet: () => false }).extensions[STAGE_EXTENSION], Stage.raw);
    assert.is(connectionEvent('id-1', 't', who, 'i1', connected, {}).extensions[STAGE_EXTENSION], Stage.raw);
    compared++;
  }
  console.log(`connection events compared: ${compared}`);
});

test.run();
