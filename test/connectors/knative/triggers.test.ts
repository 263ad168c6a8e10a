// The knative/ manifests as the embedded broker runs them: Triggers load with Broker delivery
// defaults, the app Trigger renders, and the pipeline publish → normalize → content-type → app
// passes each stage once (no reply loop) with stand-in functions resolved like the real ones.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withAttributes, type CloudEvent } from '../../../events/cloudevent.ts';
import { STAGE_EXTENSION, Stage } from '../../../events/stage.ts';
import { EventTypes } from '../../../events/types.ts';
import { deliveryFailed, isMooringError, MooringError } from '../../../events/errors.ts';
import { type Subscriber } from '../../../functions/ports/bus.ts';
import { silentLogger, systemClock, type FunctionContext, type MooringFunction } from '../../../functions/ports/runtime.ts';
import { createDeadLetterRecorder } from '../../../connectors/knative/dead-letter.ts';
import { InMemoryEventBus } from '../../../connectors/broker/memory.ts';
import { createResolver, startEmbeddedBroker } from '../../../connectors/knative/resolver.ts';
import {
  brokerDeliveries, loadTriggers, readManifests, renderAppTrigger, renderAppTriggerManifest, renderTemplate,
} from '../../../connectors/knative/triggers.ts';
import { Inbox, testEvent } from '../../contracts/event-bus.ts';

const ctx = { registry: {} as never, clock: systemClock, logger: silentLogger, instance: 'drogue', newId: () => 'id' } satisfies FunctionContext;

test('loadTriggers reads the Triggers of knative/ with the Broker delivery defaults', async () => {
  const triggers = await loadTriggers();
  const byName = new Map(triggers.map((t) => [t.name, t]));
  assert.ok(byName.has('normalize') && byName.has('content-type'), [...byName.keys()].join(','));
  const normalize = byName.get('normalize')!;
  assert.is(normalize.broker, 'mooring');
  assert.is(normalize.namespace, 'default');
  assert.equal(normalize.filters, [{ any: [
    { exact: { type: EventTypes.publish } },
    { all: [{ exact: { type: EventTypes.connection } }, { exact: { [STAGE_EXTENSION]: Stage.raw } }] },
  ] }], 'raw publishes and raw connection events take the same chain');
  assert.equal(normalize.subscriber.ref?.name, 'normalize');
  assert.is(normalize.delivery?.retry, 5);
  assert.equal(normalize.delivery?.deadLetterSink?.ref?.name, 'mooring-dead-letter');
  assert.equal(byName.get('content-type')!.filter?.attributes, { [STAGE_EXTENSION]: Stage.normalized });
});

test('the app Trigger renders with the values substituted in strings only', async () => {
  const manifest = await renderAppTriggerManifest({ app: 'app1', endpoint: 'http://x.test/{{app}}' });
  assert.is(manifest.metadata?.name, 'app-app1');
  assert.is(manifest.metadata?.labels?.['mooring.io/application'], 'app1');
  const spec = await renderAppTrigger({ app: 'my-app', endpoint: 'http://app.test/events' });
  assert.is(spec.subscriber.uri, 'http://app.test/events');
  assert.equal(spec.filters?.[0], { exact: { application: 'my-app' } });
  assert.is(spec.delivery?.retry, 5);
  const hostile = await renderAppTrigger({ app: 'a', endpoint: 'http://x\nspec:\n  broker: other' });
  assert.is(hostile.broker, 'mooring');
  assert.throws(() => renderTemplate('a: "{{nope}}"', {}), /nope/);
});

test('readManifests skips templates and reads every document', async () => {
  const docs = await readManifests();
  assert.ok(docs.every((d) => !d.file.includes('templates')));
  assert.ok(docs.some((d) => d.doc.kind === 'Broker'));
  assert.equal(brokerDeliveries(docs.map((d) => d.doc)).get('default/mooring')?.backoffPolicy, 'exponential');
});

/** Stand-ins with the real functions' routing contract (events/stage.ts). */
function pipeline(calls: Record<string, number>): MooringFunction[] {
  return [
    {
      name: 'normalize',
      handle: (event) => {
        calls.normalize = (calls.normalize ?? 0) + 1;
        if (event.extensions.topic === 'bad/topic/here') throw new MooringError('MOORING_INVALID_TOPIC', 'three segments');
        return withAttributes(event, {
          type: EventTypes.deviceEvent,
          source: `drogue://${event.extensions.application}/${event.extensions.sender}`,
          subject: String(event.extensions.topic),
          extensions: { topic: undefined, [STAGE_EXTENSION]: Stage.normalized, device: event.extensions.sender },
        });
      },
    },
    {
      name: 'content-type',
      handle: (event) => {
        calls.contentType = (calls.contentType ?? 0) + 1;
        return withAttributes(event, { datacontenttype: 'application/json', extensions: { [STAGE_EXTENSION]: undefined } });
      },
    },
  ];
}

async function embedded(app: Subscriber, calls: Record<string, number>) {
  const bus = new InMemoryEventBus({ sleep: async () => {} });
  const dead = createDeadLetterRecorder();
  const resolve = createResolver({ functions: pipeline(calls), ctx, uri: () => app, deadLetter: dead.subscriber });
  const triggers = [
    ...(await loadTriggers()),
    await renderAppTrigger({ app: 'app1', endpoint: 'http://app1.test/' }),
    await renderAppTrigger({ app: 'app2', endpoint: 'http://app2.test/' }),
  ];
  await startEmbeddedBroker(bus, triggers, resolve);
  return { bus, dead };
}

const publish = (topic: string, app = 'app1'): CloudEvent => testEvent(EventTypes.publish, {
  application: app, sender: 'dev1', topic, partitionkey: `${app}/dev1`,
}, {}, '{"temp":21}');

test('a publish passes normalize and content-type once each and reaches only its application, final', async () => {
  const calls: Record<string, number> = {};
  const got = new Inbox(5000);
  const { bus } = await embedded(got.subscriber, calls);
  await bus.publish(publish('temp'));
  await bus.publish(testEvent(EventTypes.connection, { application: 'app1', device: 'dev1', partitionkey: 'app1/dev1' }));
  await bus.idle();
  assert.equal(calls, { normalize: 1, contentType: 1 });
  assert.equal(got.events.map((e) => e.type).sort(), [EventTypes.connection, EventTypes.deviceEvent]);
  const event = got.events.find((e) => e.type === EventTypes.deviceEvent)!;
  assert.is(event.datacontenttype, 'application/json');
  assert.is(event.subject, 'temp');
  assert.is(event.extensions[STAGE_EXTENSION], undefined);
  await bus.close();
});

test('a function error goes to the dead-letter sink with its status; an app 503 is retried', async () => {
  const calls: Record<string, number> = {};
  let appCalls = 0;
  const { bus, dead } = await embedded(async () => {
    appCalls++;
    if (appCalls <= 2) throw deliveryFailed('busy', 503);
    return undefined;
  }, calls);
  await bus.publish(publish('bad/topic/here'));
  await bus.publish(publish('ok'));
  await bus.idle();
  assert.is(dead.events.length, 1);
  assert.is(dead.events[0]!.extensions.knativeerrorcode, 400);
  assert.is(dead.events[0]!.extensions.knativeerrordest, 'http://normalize.default.svc.cluster.local');
  assert.is(appCalls, 3);
  await bus.close();
});

test('an app answering 400 produces one dead letter naming its endpoint', async () => {
  const calls: Record<string, number> = {};
  const { bus, dead } = await embedded(async () => { throw deliveryFailed('no', 400); }, calls);
  await bus.publish(publish('temp'));
  await bus.idle();
  assert.is(dead.events.length, 1);
  assert.is(dead.events[0]!.extensions.knativeerrordest, 'http://app1.test/');
  assert.is(dead.events[0]!.extensions.knativeerrorcode, 400);
  await bus.close();
});

test('the resolver refuses unknown references at startup', () => {
  const resolve = createResolver({ functions: [], ctx, uri: () => async () => undefined, deadLetter: async () => undefined });
  const t = { name: 't', namespace: 'default', broker: 'mooring', subscriber: {} };
  assert.throws(() => resolve({ ref: { kind: 'Service', name: 'normalize' } }, t), /no in-process function normalize/);
  assert.throws(() => resolve({ ref: { kind: 'KafkaSink', name: 'other' } }, t), /cannot resolve KafkaSink other/);
  assert.throws(() => resolve({}, t), /neither/);
});

test('an unexpected exception in a function is a 500 attempt', async () => {
  const resolve = createResolver({
    functions: [{ name: 'f', handle: () => { throw new TypeError('bug'); } }],
    ctx, uri: () => async () => undefined, deadLetter: async () => undefined,
  });
  const sub = resolve({ ref: { kind: 'Service', name: 'f' } }, { name: 't', namespace: 'default', broker: 'mooring', subscriber: {} });
  assert.is(sub.inProcess, true, 'a Service ref is declared an in-process function');
  const err = await sub.call(testEvent('x')).then(() => undefined, (e: unknown) => e);
  assert.ok(isMooringError(err, 'MOORING_DELIVERY_FAILED'));
  assert.is((err as MooringError).upstreamStatus, 500);
});

test.run();
