// The embedded broker: the EventBus contract on InMemoryEventBus, plus unit tests of what sits
// under it (filter compilation, ISO-8601 durations, backoff, delivery outcomes, capacity).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { deliveryFailed, isMooringError, MooringError } from '../../../events/errors.ts';
import { type Subscriber } from '../../../functions/ports/bus.ts';
import {
  backoffDelay, compileDelivery, deadLetterEvent, deliverWithRetry, destinationAddress, parseIsoDuration, tryParseIsoDuration,
} from '../../../connectors/knative/delivery.ts';
import { compileTriggerFilter } from '../../../connectors/knative/filters.ts';
import { InMemoryEventBus } from '../../../connectors/broker/memory.ts';
import { functionSubscriber } from '../../../connectors/knative/resolver.ts';
import type { FunctionContext } from '../../../functions/ports/runtime.ts';
import { eventBusContract, Inbox, testEvent } from '../../contracts/event-bus.ts';
import { bindingsContract } from '../../contracts/bindings.ts';

const noSleep = async (): Promise<void> => {};

eventBusContract('in-memory', async (options) => {
  const bus = new InMemoryEventBus({ sleep: noSleep, ...options });
  return { bus, cleanup: () => bus.close() };
});
bindingsContract('in-memory', async () => { const bus = new InMemoryEventBus({ sleep: noSleep }); return { bus, cleanup: () => bus.close() }; });

const ev = (fields: Partial<CloudEvent> = {}, extensions: CloudEvent['extensions'] = {}): CloudEvent => ({
  specversion: '1.0', id: '1', source: 'test://x', type: 't', ...fields, extensions,
});
const filter = (spec: Omit<Parameters<typeof compileTriggerFilter>[0], 'name'>) => compileTriggerFilter({ ...spec, name: 'unit' });

test('filter.attributes compares core attributes and extensions as strings', () => {
  const p = filter({ filter: { attributes: { type: 't', qos: '1', subject: 'a' } } });
  assert.ok(p(ev({ subject: 'a' }, { qos: 1 })));
  assert.not.ok(p(ev({ subject: 'b' }, { qos: 1 })));
  assert.not.ok(p(ev({ subject: 'a' }, {})));
});

test('filter.attributes "" requires the attribute to be set and non-empty (Knative TriggerAnyFilter)', () => {
  const p = filter({ filter: { attributes: { subject: '', app: '' } } });
  assert.ok(p(ev({ subject: 's' }, { app: 'x' })));
  assert.not.ok(p(ev({}, { app: 'x' })));
  assert.not.ok(p(ev({ subject: 's' }, { app: '' })));
});

test('no filter, an empty filter and an empty filters list pass everything', () => {
  assert.ok(filter({})(ev()));
  assert.ok(filter({ filter: { attributes: {} } })(ev()));
  assert.ok(filter({ filters: [], filter: {} })(ev()));
});

test('filters override filter only when the list is non-empty', () => {
  assert.not.ok(filter({ filters: [], filter: { attributes: { type: 'other' } } })(ev()));
  assert.ok(filter({ filters: [{ exact: { type: 't' } }], filter: { attributes: { type: 'other' } } })(ev()));
});

test('prefix, suffix and exact fail on an attribute that is not set; not turns that into a pass', () => {
  assert.not.ok(filter({ filters: [{ prefix: { subject: 'a' } }] })(ev()));
  assert.not.ok(filter({ filters: [{ suffix: { subject: 'a' } }] })(ev()));
  assert.not.ok(filter({ filters: [{ exact: { stage: 'x' } }] })(ev()));
  assert.ok(filter({ filters: [{ not: { exact: { stage: 'x' } } }] })(ev()));
});

test('nested all/any/not combine as boolean logic', () => {
  const p = filter({
    filters: [{ any: [{ all: [{ exact: { type: 't' } }, { not: { prefix: { source: 'test://y' } } }] }, { exact: { id: '9' } }] }],
  });
  assert.ok(p(ev()));
  assert.not.ok(p(ev({ source: 'test://yes' })));
  assert.ok(p(ev({ source: 'test://yes', id: '9' })));
});

test('a filter Knative would reject fails at compile time, naming the trigger', () => {
  const bad: unknown[] = [
    { exact: { type: '' } },
    { prefix: {} },
    { all: [] },
    { any: [] },
    { exact: { type: 't' }, prefix: { type: 't' } },
    { cesql: "type = 't'" },
    {},
  ];
  for (const f of bad) {
    assert.throws(() => compileTriggerFilter({ name: 'bad', filters: [f as never] }), /trigger bad/, JSON.stringify(f));
  }
});

test('ISO-8601 durations parse to milliseconds', () => {
  assert.is(parseIsoDuration('PT0.2S'), 200);
  assert.is(parseIsoDuration('PT1M'), 60_000);
  assert.is(parseIsoDuration('PT1H30M5S'), 5_405_000);
  assert.is(parseIsoDuration('P1D'), 86_400_000);
  assert.is(parseIsoDuration('P1DT1S'), 86_401_000);
  assert.is(parseIsoDuration('pt2s'), 2000);
  assert.is(parseIsoDuration('PT0,5S'), 500);
  for (const bad of ['', 'P', 'PT', '2S', 'P1Y', 'P1M', 'PT-1S', '1000', 'PT1S ms']) assert.is(tryParseIsoDuration(bad), undefined, bad);
  assert.throws(() => parseIsoDuration('soon'), /ISO-8601/);
});

test('backoff: linear is delay·n, exponential delay·2^n, n counting retries from 1', () => {
  const linear = compileDelivery({ backoffPolicy: 'linear', backoffDelay: 'PT0.1S' });
  const exponential = compileDelivery({ backoffPolicy: 'exponential', backoffDelay: 'PT0.1S' });
  assert.equal([1, 2, 3].map((n) => backoffDelay(linear, n)), [100, 200, 300]);
  assert.equal([1, 2, 3].map((n) => backoffDelay(exponential, n)), [200, 400, 800]);
});

test('delivery defaults: no retries, exponential, no delay, no timeout', () => {
  assert.equal(compileDelivery(undefined), { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 0, timeoutMs: undefined });
  assert.throws(() => compileDelivery({ retry: -1 }), /retry/);
  assert.throws(() => compileDelivery({ backoffPolicy: 'fibonacci' as never }), /backoffPolicy/);
  assert.throws(() => compileDelivery({ backoffDelay: '1s' }), /ISO-8601/);
});

const failing = (statuses: Array<number | undefined | 'ok'>): { sub: Subscriber; calls: () => number } => {
  let i = 0;
  return {
    calls: () => i,
    sub: async (event) => {
      const s = statuses[Math.min(i++, statuses.length - 1)];
      if (s === 'ok') return event;
      throw deliveryFailed(`status ${s}`, s);
    },
  };
};

test('deliverWithRetry sleeps the backoff between attempts and returns the reply', async () => {
  const sleeps: number[] = [];
  const { sub, calls } = failing([503, 429, 'ok']);
  const out = await deliverWithRetry(ev(), sub, compileDelivery({ retry: 5, backoffPolicy: 'linear', backoffDelay: 'PT1S' }), {
    sleep: async (ms) => { sleeps.push(ms); },
  });
  assert.ok(out.delivered);
  assert.is(calls(), 3);
  assert.equal(sleeps, [1000, 2000]);
  if (out.delivered) assert.is((out.reply as CloudEvent).id, '1');
});

test('deliverWithRetry gives up after 1 + retry attempts with the last status', async () => {
  const { sub, calls } = failing([500, 502, 503]);
  const out = await deliverWithRetry(ev(), sub, compileDelivery({ retry: 2 }), { sleep: noSleep });
  assert.is(calls(), 3);
  assert.equal({ ...out, lastError: undefined }, { delivered: false, status: 503, lastError: undefined, attempts: 3, aborted: false });
});

test('deliverWithRetry stops at once on a non-retriable status; network errors and 404/408/409 retry', async () => {
  for (const status of [400, 401, 403, 406, 413]) {
    const { sub, calls } = failing([status, 'ok']);
    const out = await deliverWithRetry(ev(), sub, compileDelivery({ retry: 3 }), { sleep: noSleep });
    assert.is(calls(), 1, String(status));
    assert.not.ok(out.delivered);
  }
  for (const status of [undefined, 404, 408, 409]) {
    const { sub, calls } = failing([status, 'ok']);
    const out = await deliverWithRetry(ev(), sub, compileDelivery({ retry: 3 }), { sleep: noSleep });
    assert.is(calls(), 2, String(status));
    assert.ok(out.delivered);
  }
});

test('deliverWithRetry takes the status of a MooringError; an unknown error counts as a network error', async () => {
  let out = await deliverWithRetry(ev(), async () => { throw new MooringError('MOORING_REJECTED', 'no'); }, compileDelivery({ retry: 3 }), { sleep: noSleep });
  assert.equal([out.delivered, out.attempts, !out.delivered && out.status], [false, 1, 406]);
  out = await deliverWithRetry(ev(), async () => { throw new Error('boom'); }, compileDelivery({ retry: 1 }), { sleep: noSleep });
  assert.equal([out.delivered, out.attempts, !out.delivered && out.status], [false, 2, undefined]);
});

test('a per-attempt timeout fails the attempt as retriable', async () => {
  let calls = 0;
  const out = await deliverWithRetry(ev(), async () => {
    calls++;
    if (calls === 1) await new Promise((r) => setTimeout(r, 200));
    return undefined;
  }, compileDelivery({ retry: 1, timeout: 'PT0.01S' }), { sleep: noSleep });
  assert.ok(out.delivered);
  assert.is(calls, 2);
});

test('an aborted signal ends the retries without a final failure', async () => {
  const abort = new AbortController();
  const { sub, calls } = failing([503]);
  const out = await deliverWithRetry(ev(), sub, compileDelivery({ retry: 10 }), {
    signal: abort.signal,
    sleep: async () => { abort.abort(); },
  });
  assert.is(calls(), 1);
  assert.ok(!out.delivered && out.aborted);
});

test('deadLetterEvent adds knativeerrordest, knativeerrorcode and base64 knativeerrordata (≤1024)', () => {
  const d = deadLetterEvent(ev({}, { a: 'b' }), { status: 422, data: 'nope' }, 'http://app.test/');
  assert.equal(d.extensions, { a: 'b', knativeerrordest: 'http://app.test/', knativeerrorcode: 422, knativeerrordata: Buffer.from('nope').toString('base64') });
  const big = deadLetterEvent(ev(), { status: 500, data: new Uint8Array(4000) }, 'x');
  assert.is(String(big.extensions.knativeerrordata).length, 1024);
  const network = deadLetterEvent(ev(), {}, 'x');
  assert.equal(network.extensions, { knativeerrordest: 'x' });
});

test('destinationAddress: the URI, or the cluster-local address of a referenced addressable', () => {
  assert.is(destinationAddress({ uri: 'http://a.test/x' }, { namespace: 'n' }), 'http://a.test/x');
  assert.is(destinationAddress({ ref: { kind: 'Service', name: 'normalize' } }, { namespace: 'n' }), 'http://normalize.n.svc.cluster.local');
  assert.is(destinationAddress({ ref: { kind: 'Service', name: 's', namespace: 'm' }, uri: '/p' }, { namespace: 'n' }), 'http://s.m.svc.cluster.local/p');
});

test('publish beyond capacity rejects with MOORING_BUS_FULL; capacity frees as deliveries finish', async () => {
  const bus = new InMemoryEventBus({ capacity: 3, sleep: noSleep, fullWaitMs: 0 });
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const got = new Inbox(5000);
  await bus.addTrigger({ name: 'slow', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' } }, async (e) => {
    await gate;
    got.push(e);
    return undefined;
  });
  await bus.publish([testEvent('a'), testEvent('a')]);
  const err = await bus.publish([testEvent('a'), testEvent('a')]).then(() => undefined, (e: unknown) => e);
  assert.ok(isMooringError(err, 'MOORING_BUS_FULL'), String(err));
  await bus.publish(testEvent('a'));
  assert.is(bus.queued, 3);
  release();
  await bus.idle();
  assert.is(got.events.length, 3);
  await bus.publish([testEvent('a'), testEvent('a')]);
  await got.untilCount(5);
  await bus.close();
  assert.is(bus.queued, 0);
});

test('a publish into a full bus waits for room, in order, and is accepted once deliveries free it', async () => {
  const bus = new InMemoryEventBus({ capacity: 2, sleep: noSleep, fullWaitMs: 30_000 });
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const got = new Inbox(5000);
  await bus.addTrigger({ name: 'slow', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' } }, async (e) => {
    await gate;
    got.push(e);
    return undefined;
  });
  await bus.publish([testEvent('a', { n: 1 }), testEvent('a', { n: 2 })]);
  let settled = 0;
  const third = bus.publish(testEvent('a', { n: 3 })).then(() => { settled++; });
  const fourth = bus.publish(testEvent('a', { n: 4 })).then(() => { settled++; });
  await new Promise((r) => setTimeout(r, 50));
  assert.is(settled, 0, 'no room yet: the publishes wait instead of being refused');
  release();
  await Promise.all([third, fourth]);
  await got.untilCount(4);
  assert.equal(got.events.map((e) => e.extensions.n), [1, 2, 3, 4], 'waiting publishes keep their order');
  await bus.close();
});

test('while the bus drains, waiting publishes are accepted even when the queue takes longer than fullWaitMs', async () => {
  // Many connections each waiting for room make a long queue; it is backpressure, not a stall.
  const bus = new InMemoryEventBus({ capacity: 1, sleep: noSleep, fullWaitMs: 200 });
  await bus.addTrigger({ name: 'slow', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' } },
    () => new Promise((r) => setTimeout(() => r(undefined), 5)));
  const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) =>
    bus.publish(testEvent('a', { n: i })).then(() => 'accepted', (e: unknown) => String(e))));
  assert.equal(outcomes.filter((o) => o !== 'accepted'), []);
  await bus.close();
});

test('publishes waiting for a bus that made no room for fullWaitMs are refused with MOORING_BUS_FULL; close refuses the rest', async () => {
  const bus = new InMemoryEventBus({ capacity: 1, sleep: noSleep, fullWaitMs: 20 });
  await bus.addTrigger({ name: 'stuck', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' } }, () => new Promise(() => {}));
  await bus.publish(testEvent('a'));
  const err = await bus.publish(testEvent('a')).then(() => undefined, (e: unknown) => e);
  assert.ok(isMooringError(err, 'MOORING_BUS_FULL'), String(err));
  const slow = new InMemoryEventBus({ capacity: 1, sleep: noSleep, fullWaitMs: 60_000 });
  await slow.addTrigger({ name: 'stuck', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' } }, () => new Promise(() => {}));
  await slow.publish(testEvent('a'));
  const waiting = slow.publish(testEvent('a')).then(() => undefined, (e: unknown) => e);
  void slow.close();
  assert.ok(isMooringError(await waiting, 'MOORING_UNAVAILABLE'));
  void bus.close();
});

test('an event no trigger matches is not held', async () => {
  const bus = new InMemoryEventBus({ capacity: 1 });
  await bus.publish(testEvent('nobody'));
  await bus.publish(testEvent('nobody'));
  assert.is(bus.queued, 0);
  await bus.close();
});

test('the subscriber never runs inside publish', async () => {
  const bus = new InMemoryEventBus();
  let inside = false;
  let ranInside = false;
  const got = new Inbox(5000);
  await bus.addTrigger({ name: 't', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' } }, async (e) => {
    ranInside = inside;
    got.push(e);
    return undefined;
  });
  inside = true;
  void bus.publish(testEvent('a'));
  inside = false;
  await got.untilCount(1);
  assert.not.ok(ranInside);
  await bus.close();
});

test('different keys are delivered concurrently, bounded per trigger', async () => {
  const bus = new InMemoryEventBus({ concurrency: 3 });
  let inFlight = 0;
  let peak = 0;
  let open = false;
  const waiting: Array<() => void> = [];
  const got = new Inbox(5000);
  const reached = new Inbox(5000);
  await bus.addTrigger({ name: 't', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' } }, async (e) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    reached.push(e);
    if (!open) await new Promise<void>((r) => waiting.push(r));
    inFlight--;
    got.push(e);
    return undefined;
  });
  await bus.publish(Array.from({ length: 6 }, (_, i) => testEvent('a', { partitionkey: `k${i}` })));
  await reached.untilCount(3);
  assert.is(peak, 3);
  open = true;
  for (const release of waiting.splice(0)) release();
  await got.untilCount(6);
  assert.is(peak, 3);
  await bus.close();
});

test('close waits for the attempt in flight, drops queued events and refuses further publishes', async () => {
  const bus = new InMemoryEventBus();
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const started = new Inbox(5000);
  let finished = 0;
  await bus.addTrigger({ name: 't', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' } }, async (e) => {
    started.push(e);
    await gate;
    finished++;
    return undefined;
  });
  await bus.publish([testEvent('a', { partitionkey: 'k' }), testEvent('a', { partitionkey: 'k' })]);
  await started.untilCount(1);
  const closing = bus.close();
  release();
  await closing;
  assert.is(finished, 1);
  assert.is(started.events.length, 1);
  assert.is(bus.queued, 0);
  const err = await bus.publish(testEvent('a')).then(() => undefined, (e: unknown) => e);
  assert.ok(isMooringError(err, 'MOORING_UNAVAILABLE'));
});

test('close ends a retry backoff without dead-lettering', async () => {
  const bus = new InMemoryEventBus();
  const dead = new Inbox(5000);
  const attempted = new Inbox(5000);
  await bus.addTrigger({
    name: 't', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' },
    delivery: { retry: 3, backoffDelay: 'PT60S' },
  }, async (e) => { attempted.push(e); throw deliveryFailed('down', 503); }, dead.subscriber);
  await bus.publish(testEvent('a'));
  await attempted.untilCount(1);
  await bus.close();
  assert.is(dead.events.length, 0);
  assert.is(attempted.events.length, 1);
});

test('adding a trigger twice is refused', async () => {
  const bus = new InMemoryEventBus();
  const t = { name: 't', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' } };
  await bus.addTrigger(t, async () => undefined);
  const err = await bus.addTrigger(t, async () => undefined).then(() => undefined, (e: unknown) => e);
  assert.instance(err, Error);
  await bus.close();
});

// Fusion (ARCHITECTURE.md): a reply every matching Trigger of which is an in-process function is
// handed to those Triggers directly; anything else matching it makes it re-enter the broker.
const fnCtx = {} as FunctionContext;
const fnTrigger = (name: string, type: string, extra: object = {}) => ({
  name, namespace: 'default', broker: 'mooring', filter: { attributes: { type } }, subscriber: { ref: { kind: 'Service', name } }, ...extra,
});
function spyReenter(bus: InMemoryEventBus): CloudEvent[] {
  const seen: CloudEvent[] = [];
  const original = bus.reenter.bind(bus);
  bus.reenter = (events) => { seen.push(...(Array.isArray(events) ? events : [events])); original(events); };
  return seen;
}

test('fusion: a reply matched only by in-process functions reaches them without re-entering the broker', async () => {
  const bus = new InMemoryEventBus({ sleep: noSleep });
  const reentered = spyReenter(bus);
  const got: CloudEvent[] = [];
  await bus.addTrigger(fnTrigger('a', 'a'), functionSubscriber({ name: 'a', handle: (e) => ({ ...e, type: 'b' }) }, fnCtx));
  await bus.addTrigger(fnTrigger('b', 'b'), functionSubscriber({ name: 'b', handle: (e) => { got.push(e); return undefined; } }, fnCtx));
  await bus.publish(testEvent('a'));
  await bus.idle();
  assert.is(got.length, 1);
  assert.is(got[0]!.type, 'b');
  assert.is(reentered.length, 0);
  await bus.close();
});

test('fusion: a fused trigger keeps its own delivery policy and dead-letter sink', async () => {
  const bus = new InMemoryEventBus({ sleep: noSleep });
  let attempts = 0;
  const dead: CloudEvent[] = [];
  await bus.addTrigger(fnTrigger('a', 'a'), functionSubscriber({ name: 'a', handle: (e) => ({ ...e, type: 'b' }) }, fnCtx));
  await bus.addTrigger(
    fnTrigger('b', 'b', { delivery: { retry: 2 } }),
    functionSubscriber({ name: 'b', handle: () => { attempts++; throw new MooringError('MOORING_UNAVAILABLE', 'down'); } }, fnCtx),
    async (e) => { dead.push(e); return undefined; },
  );
  await bus.publish(testEvent('a'));
  await bus.idle();
  assert.is(attempts, 3);
  assert.is(dead.length, 1);
  assert.is(dead[0]!.type, 'b');
  assert.is(dead[0]!.extensions.knativeerrordest, 'http://b.default.svc.cluster.local');
  await bus.close();
});

test('no fusion when a trigger that is not an in-process function also matches the reply', async () => {
  const bus = new InMemoryEventBus({ sleep: noSleep });
  const reentered = spyReenter(bus);
  const got: string[] = [];
  await bus.addTrigger(fnTrigger('a', 'a'), functionSubscriber({ name: 'a', handle: (e) => ({ ...e, type: 'b' }) }, fnCtx));
  await bus.addTrigger(fnTrigger('b', 'b'), functionSubscriber({ name: 'b', handle: () => { got.push('b'); return undefined; } }, fnCtx));
  await bus.addTrigger({ ...fnTrigger('push', 'b'), subscriber: { uri: 'http://app' } }, async () => { got.push('push'); return undefined; });
  await bus.publish(testEvent('a'));
  await bus.idle();
  assert.equal(got.sort(), ['b', 'push']);
  assert.is(reentered.length, 1);
  await bus.close();
});

test('many keys retrying at once on one trigger raise no listener-leak warning', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { warnings.push(w.name); };
  process.on('warning', onWarning);
  const bus = new InMemoryEventBus({ concurrency: 20 });
  let failures = 0;
  await bus.addTrigger({ name: 'flaky', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' }, delivery: { retry: 1, backoffDelay: 'PT0.05S' } },
    async () => { failures++; throw deliveryFailed('down', 503); });
  for (let i = 0; i < 20; i++) await bus.publish(testEvent('a', { partitionkey: `k${i}` }));
  await bus.idle();
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.is(failures, 40);
  assert.not.ok(warnings.includes('MaxListenersExceededWarning'), warnings.join(', '));
  await bus.close();
});

test.run();
