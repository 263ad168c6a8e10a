// The contract every EventBus adapter passes (in-memory here, Kafka in connectors/kafka): Knative
// Trigger filter semantics, delivery (retry with backoff, dead letter, non-retriable statuses, a
// dead-letter sink that is down and recovers), reply chaining, fusion of in-process Triggers
// (the same events with and without it), per-partitionkey order and fan-out. One bus serves the whole suite, so each test
// uses its own event type and trigger names and removes its triggers. Every wait is event-driven
// with a generous bound (a real Kafka must pass too); nothing asserts on time. A "nothing else
// arrived" check publishes a last event on the same partition key: once it is delivered, every
// earlier event of that key that matched would have been delivered before it.

import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CloudEvent, ExtensionValue } from '../../events/cloudevent.ts';
import {
  type EventBus, type Subscriber, type SubscriberRef, type SubscriptionsFilter, type TriggerSpec,
} from '../../functions/ports/bus.ts';
import { deliveryFailed } from '../../events/errors.ts';

export interface EventBusContractOptions {
  /** Upper bound for every wait (default 30 s). */
  timeoutMs?: number;
  /** Events per key in the order test (default 50). */
  eventsPerKey?: number;
  /** Backoff delay of the retry tests (default PT0.01S). */
  backoffDelay?: string;
}

export interface EventBusFixture {
  bus: EventBus;
  cleanup(): Promise<void>;
}

export interface EventBusFixtureOptions {
  /** Hand events to in-process Triggers without a bus hop (the adapter's default: on). */
  fusion?: boolean;
}

/** Records what a subscriber received and lets a test wait for a condition on it. */
export class Inbox {
  readonly events: CloudEvent[] = [];
  private waiters: Array<{ done: () => boolean; resolve: () => void }> = [];

  constructor(private readonly timeoutMs: number) {}

  push(event: CloudEvent): void {
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (!w.done()) return true;
      w.resolve();
      return false;
    });
  }

  /** A subscriber that records and acknowledges. */
  readonly subscriber: Subscriber = async (event) => {
    this.push(event);
    return undefined;
  };

  ids(): string[] { return this.events.map((e) => e.id); }

  /** Resolves when `done()` holds; fails naming `what` after the bound. */
  until(done: () => boolean, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== finish);
        reject(new Error(`timed out after ${this.timeoutMs} ms waiting for ${what}; received ${this.events.length}: ${this.ids().join(', ')}`));
      }, this.timeoutMs);
      const finish = (): void => { clearTimeout(timer); resolve(); };
      this.waiters.push({ done, resolve: finish });
    });
  }

  untilId(id: string): Promise<void> {
    return this.until(() => this.events.some((e) => e.id === id), `event ${id}`);
  }

  untilCount(n: number): Promise<void> {
    return this.until(() => this.events.length >= n, `${n} events`);
  }
}

/** A test event; `data` is UTF-8 text. */
export function testEvent(type: string, extensions: Record<string, ExtensionValue> = {}, fields: Partial<CloudEvent> = {}, data?: string): CloudEvent {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: 'test://mooring/contract',
    type,
    ...fields,
    ...(data === undefined ? {} : { data: new TextEncoder().encode(data), datacontenttype: 'text/plain' }),
    extensions,
  };
}

function uniqueType(name: string): string {
  return `io.mooring.test.${name}.${randomUUID().slice(0, 8)}`;
}

const text = (e: CloudEvent): string => (e.data ? new TextDecoder().decode(e.data) : '');

interface Context {
  fixture?: EventBusFixture;
  triggers: TriggerSpec[];
}

export function eventBusContract(
  name: string,
  factory: (options?: EventBusFixtureOptions) => Promise<EventBusFixture>,
  opts: EventBusContractOptions = {},
): void {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const perKey = opts.eventsPerKey ?? 50;
  const backoffDelay = opts.backoffDelay ?? 'PT0.01S';
  const test = suite<Context>(`EventBus contract: ${name}`, { triggers: [] });

  const bus = (ctx: Context): EventBus => {
    if (!ctx.fixture) throw new Error('the bus fixture did not start');
    return ctx.fixture.bus;
  };
  const trigger = (spec: Omit<TriggerSpec, 'namespace' | 'broker' | 'subscriber'> & Partial<TriggerSpec>): TriggerSpec => ({
    namespace: 'default',
    broker: 'mooring',
    subscriber: { uri: `http://contract.test/${spec.name}` },
    ...spec,
    name: `${spec.name}-${randomUUID().slice(0, 8)}`,
  });
  const add = async (ctx: Context, t: TriggerSpec, subscriber: Subscriber, deadLetter?: Subscriber): Promise<void> => {
    await bus(ctx).addTrigger(t, subscriber, deadLetter);
    ctx.triggers.push(t);
  };
  const inbox = (): Inbox => new Inbox(timeoutMs);

  test.before(async (ctx) => {
    ctx.fixture = await factory();
  });
  test.after.each(async (ctx) => {
    const triggers = ctx.triggers.splice(0);
    for (const t of triggers) await bus(ctx).removeTrigger(t.namespace, t.name);
  });
  test.after(async (ctx) => {
    await ctx.fixture?.cleanup();
  });

  test('filter.attributes: an event passes when every listed attribute is equal; "" matches any value of a set attribute', async (ctx) => {
    const type = uniqueType('attributes');
    const red = inbox();
    const anyColor = inbox();
    await add(ctx, trigger({ name: 'attr-red', filter: { attributes: { type, color: 'red' } } }), red.subscriber);
    await add(ctx, trigger({ name: 'attr-any', filter: { attributes: { type, color: '' } } }), anyColor.subscriber);
    const key = randomUUID();
    const e1 = testEvent(type, { partitionkey: key, color: 'red' });
    const e2 = testEvent(type, { partitionkey: key, color: 'blue' });
    const e3 = testEvent(type, { partitionkey: key });
    const e4 = testEvent(`${type}.other`, { partitionkey: key, color: 'red' });
    const last = testEvent(type, { partitionkey: key, color: 'red' });
    await bus(ctx).publish([e1, e2, e3, e4]);
    await bus(ctx).publish(last);
    await red.untilId(last.id);
    assert.equal(red.ids(), [e1.id, last.id]);
    await anyColor.untilId(last.id);
    assert.equal(anyColor.ids(), [e1.id, e2.id, last.id]);
  });

  test('filters: exact, prefix, suffix, all, any and not select as Knative SubscriptionsAPI does', async (ctx) => {
    const type = uniqueType('filters');
    const key = randomUUID();
    const e1 = testEvent(type, { partitionkey: key, color: 'red' }, { subject: 'sensors/temp' });
    const e2 = testEvent(type, { partitionkey: key, color: 'blue' }, { subject: 'sensors/hum' });
    const e3 = testEvent(type, { partitionkey: key }, { subject: 'actors/temp' });
    const last = testEvent(type, { partitionkey: key, last: 'yes' });
    const cases: Array<{ name: string; filter: SubscriptionsFilter; expect: CloudEvent[] }> = [
      { name: 'exact', filter: { exact: { color: 'red' } }, expect: [e1] },
      { name: 'prefix', filter: { prefix: { subject: 'sensors/' } }, expect: [e1, e2] },
      { name: 'suffix', filter: { suffix: { subject: '/temp' } }, expect: [e1, e3] },
      { name: 'all', filter: { all: [{ prefix: { subject: 'sensors/' } }, { suffix: { subject: '/temp' } }] }, expect: [e1] },
      { name: 'any', filter: { any: [{ exact: { color: 'blue' } }, { exact: { subject: 'actors/temp' } }] }, expect: [e2, e3] },
      { name: 'not', filter: { not: { exact: { color: 'red' } } }, expect: [e2, e3] },
    ];
    const inboxes = cases.map(() => inbox());
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      // The `last` event passes every trigger, so that its arrival proves the others' absence.
      await add(ctx, trigger({
        name: `filters-${c.name}`,
        filters: [{ exact: { type } }, { any: [c.filter, { exact: { last: 'yes' } }] }],
      }), inboxes[i]!.subscriber);
    }
    await bus(ctx).publish([e1, e2, e3, last]);
    for (let i = 0; i < cases.length; i++) {
      await inboxes[i]!.untilId(last.id);
      assert.equal(inboxes[i]!.ids(), [...cases[i]!.expect.map((e) => e.id), last.id], `filter ${cases[i]!.name}`);
    }
  });

  test('filters override filter when both are given', async (ctx) => {
    const type = uniqueType('override');
    const got = inbox();
    await add(ctx, trigger({
      name: 'override',
      filter: { attributes: { type, color: 'green' } },
      filters: [{ exact: { type } }, { exact: { color: 'red' } }],
    }), got.subscriber);
    const key = randomUUID();
    const green = testEvent(type, { partitionkey: key, color: 'green' });
    const red = testEvent(type, { partitionkey: key, color: 'red' });
    await bus(ctx).publish([green, red]);
    await got.untilId(red.id);
    assert.equal(got.ids(), [red.id]);
  });

  test('a retriable failure is retried with backoff until the subscriber accepts it', async (ctx) => {
    const type = uniqueType('retry');
    let attempts = 0;
    const got = inbox();
    const dead = inbox();
    await add(ctx, trigger({
      name: 'retry',
      filter: { attributes: { type } },
      delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay, deadLetterSink: { uri: 'http://dead.test' } },
    }), async (event) => {
      attempts++;
      if (attempts <= 2) throw deliveryFailed('unavailable', 503);
      got.push(event);
      return undefined;
    }, dead.subscriber);
    const e = testEvent(type, { partitionkey: randomUUID() }, {}, 'payload');
    await bus(ctx).publish(e);
    await got.untilId(e.id);
    assert.is(attempts, 3);
    assert.is(got.events.length, 1);
    assert.is(text(got.events[0]!), 'payload');
    assert.is(dead.events.length, 0);
  });

  test('after the last retry the event goes to the dead-letter sink with knativeerrorcode and knativeerrordest', async (ctx) => {
    const type = uniqueType('deadletter');
    let attempts = 0;
    const dead = inbox();
    await add(ctx, trigger({
      name: 'dead',
      filter: { attributes: { type } },
      delivery: { retry: 2, backoffPolicy: 'exponential', backoffDelay, deadLetterSink: { uri: 'http://dead.test' } },
    }), async () => {
      attempts++;
      throw deliveryFailed('unavailable', 503);
    }, dead.subscriber);
    const e = testEvent(type, { partitionkey: randomUUID(), color: 'red' }, { subject: 'temp' }, 'lost');
    await bus(ctx).publish(e);
    await dead.untilCount(1);
    assert.is(attempts, 3);
    const d = dead.events[0]!;
    assert.is(d.id, e.id);
    assert.is(d.type, type);
    assert.is(d.subject, 'temp');
    assert.is(String(d.extensions.color), 'red');
    assert.is(text(d), 'lost');
    assert.is(String(d.extensions.knativeerrorcode), '503');
    assert.type(d.extensions.knativeerrordest, 'string');
    assert.ok(String(d.extensions.knativeerrordest).length > 0, 'knativeerrordest is set');
  });

  test('a non-retriable status (400) goes to the dead-letter sink after exactly one attempt', async (ctx) => {
    const type = uniqueType('badrequest');
    let attempts = 0;
    const dead = inbox();
    await add(ctx, trigger({
      name: 'badrequest',
      filter: { attributes: { type } },
      delivery: { retry: 5, backoffPolicy: 'linear', backoffDelay, deadLetterSink: { uri: 'http://dead.test' } },
    }), async () => {
      attempts++;
      throw deliveryFailed('bad request', 400);
    }, dead.subscriber);
    const e = testEvent(type, { partitionkey: randomUUID() });
    await bus(ctx).publish(e);
    await dead.untilId(e.id);
    assert.is(attempts, 1);
    assert.is(String(dead.events[0]!.extensions.knativeerrorcode), '400');
  });

  test('a dead-letter sink that is down keeps the event (counted); once the sink recovers the event reaches it', async (ctx) => {
    const type = uniqueType('dlsdown');
    const retry = 1;
    let attempts = 0;
    let sinkAttempts = 0;
    const dead = inbox();
    const before = bus(ctx).stats();
    await add(ctx, trigger({
      name: 'dlsdown',
      filter: { attributes: { type } },
      delivery: { retry, backoffPolicy: 'linear', backoffDelay, deadLetterSink: { uri: 'http://dead.test' } },
    }), async () => {
      attempts++;
      throw deliveryFailed('unavailable', 503);
    }, async (event) => {
      // Down for one whole round (1 + retry attempts), then up.
      if (++sinkAttempts <= retry + 1) throw deliveryFailed('dead-letter sink down', 503);
      return dead.subscriber(event);
    });
    const e = testEvent(type, { partitionkey: randomUUID() }, {}, 'kept');
    await bus(ctx).publish(e);
    await dead.untilCount(1);
    const after = bus(ctx).stats();
    const failures = after.deadLetterFailures - before.deadLetterFailures;
    const dropped = after.dropped - before.dropped;
    console.log(`[dls-recovery] subscriber attempts=${attempts} sink attempts=${sinkAttempts} dead letters=${dead.events.length} deadLetterFailures=${failures} dropped=${dropped} lost=${dead.events.length === 1 ? 0 : 1}`);
    assert.is(dead.events[0]!.id, e.id);
    assert.is(text(dead.events[0]!), 'kept');
    assert.is(String(dead.events[0]!.extensions.knativeerrorcode), '503');
    assert.is(failures, 1, 'one round with the sink down, counted');
    assert.is(dropped, 0, 'nothing dropped');
    // The kept event is tried again from the start: two rounds of the subscriber's attempts.
    assert.is(attempts, 2 * (retry + 1));
    assert.is(sinkAttempts, retry + 2);
    assert.is(dead.events.length, 1);
  });

  test('fused and not fused, an application observes the same events in the same order per device', async (ctx) => {
    const raw = uniqueType('fraw');
    const mid = uniqueType('fmid');
    const final = uniqueType('ffinal');
    const keys = [randomUUID(), randomUUID(), randomUUID()];
    const perDevice = 20;
    // Two in-process stages (declared so) and an outside subscriber, the application.
    const stage = (name: string, to: string, mark: string): SubscriberRef => ({
      name, inProcess: true,
      call: async (event) => ({
        ...event, type: to, extensions: { ...event.extensions, [mark]: 'yes' },
        data: new TextEncoder().encode(`${name}(${text(event)})`),
      }),
    });
    const observe = async (target: EventBus, suffix: string): Promise<Array<Record<string, unknown>>> => {
      const app = inbox();
      const ts = [
        trigger({ name: `fa-${suffix}`, filter: { attributes: { type: raw } } }),
        trigger({ name: `fb-${suffix}`, filter: { attributes: { type: mid } } }),
        trigger({ name: `fc-${suffix}`, filter: { attributes: { type: final } } }),
      ];
      await target.addTrigger(ts[0]!, stage('one', mid, 'one'));
      await target.addTrigger(ts[1]!, stage('two', final, 'two'));
      await target.addTrigger(ts[2]!, app.subscriber);
      try {
        const sent: CloudEvent[] = [];
        for (let i = 0; i < perDevice; i++) {
          for (const key of keys) sent.push(testEvent(raw, { partitionkey: key, seq: i }, { id: `${key}-${i}`, subject: 'temp' }, `m${i}`));
        }
        // One publish per message, as the gateway makes them.
        await Promise.all(sent.map((e) => target.publish(e)));
        await app.untilCount(sent.length);
      } finally {
        for (const t of ts) await target.removeTrigger(t.namespace, t.name);
      }
      return app.events.map((e) => ({
        key: e.extensions.partitionkey, id: e.id, type: e.type, source: e.source, subject: e.subject,
        datacontenttype: e.datacontenttype, extensions: { ...e.extensions }, data: text(e),
      }));
    };
    const plain = await factory({ fusion: false });
    let unfused: Array<Record<string, unknown>>;
    let plainFused: number;
    try {
      unfused = await observe(plain.bus, 'plain');
      plainFused = plain.bus.stats().fused;
    } finally {
      await plain.cleanup();
    }
    const fusedBefore = bus(ctx).stats().fused;
    const fused = await observe(bus(ctx), 'fused');
    const fusedCount = bus(ctx).stats().fused - fusedBefore;
    const perKey = (list: Array<Record<string, unknown>>) => keys.map((k) => list.filter((e) => e.key === k));
    const differing = perKey(fused).reduce((n, events, i) =>
      n + events.filter((e, j) => JSON.stringify(e) !== JSON.stringify(perKey(unfused)[i]![j])).length, 0);
    console.log(`[fusion-equivalence] events fused=${fused.length} unfused=${unfused.length} handed over in-process=${fusedCount} (unfused bus: ${plainFused}) differing=${differing}`);
    assert.is(plainFused, 0, 'a bus without fusion hands nothing over');
    assert.ok(fusedCount > 0, 'the fused bus handed events over in-process');
    assert.is(fused.length, unfused.length);
    assert.equal(perKey(fused), perKey(unfused));
    assert.equal(perKey(fused)[0]!.map((e) => e.data), Array.from({ length: perDevice }, (_, i) => `two(one(m${i}))`));
  });

  test('a reply re-enters the broker and reaches the triggers that match it', async (ctx) => {
    const first = uniqueType('request');
    const second = uniqueType('reply');
    const replies = inbox();
    await add(ctx, trigger({ name: 'chain-a', filter: { attributes: { type: first } } }), async (event) =>
      testEvent(second, { partitionkey: String(event.extensions.partitionkey), cause: event.id }, {}, `re: ${text(event)}`));
    await add(ctx, trigger({ name: 'chain-b', filter: { attributes: { type: second } } }), replies.subscriber);
    const e = testEvent(first, { partitionkey: randomUUID() }, {}, 'hello');
    await bus(ctx).publish(e);
    await replies.untilCount(1);
    assert.is(replies.events[0]!.type, second);
    assert.is(String(replies.events[0]!.extensions.cause), e.id);
    assert.is(text(replies.events[0]!), 're: hello');
  });

  test('a reply of several events delivers each of them', async (ctx) => {
    const first = uniqueType('fanreq');
    const second = uniqueType('fanreply');
    const replies = inbox();
    await add(ctx, trigger({ name: 'fan-a', filter: { attributes: { type: first } } }), async (event) => {
      const key = String(event.extensions.partitionkey);
      return [testEvent(second, { partitionkey: key, n: '1' }), testEvent(second, { partitionkey: key, n: '2' })];
    });
    await add(ctx, trigger({ name: 'fan-b', filter: { attributes: { type: second } } }), replies.subscriber);
    await bus(ctx).publish(testEvent(first, { partitionkey: randomUUID() }));
    await replies.untilCount(2);
    assert.equal(replies.events.map((e) => String(e.extensions.n)), ['1', '2']);
  });

  test('events with the same partitionkey are delivered in publish order, one at a time', async (ctx) => {
    const type = uniqueType('order');
    const keys = [randomUUID(), randomUUID(), randomUUID()];
    const seen = new Map<string, number[]>(keys.map((k) => [k, []]));
    const inFlight = new Map<string, number>();
    let overlaps = 0;
    const got = inbox();
    await add(ctx, trigger({ name: 'order', filter: { attributes: { type } } }), async (event) => {
      const key = String(event.extensions.partitionkey);
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
      if (inFlight.get(key)! > 1) overlaps++;
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 3)));
      seen.get(key)!.push(Number(event.extensions.seq));
      inFlight.set(key, inFlight.get(key)! - 1);
      got.push(event);
      return undefined;
    });
    const events: CloudEvent[] = [];
    for (let i = 0; i < perKey; i++) for (const key of keys) events.push(testEvent(type, { partitionkey: key, seq: String(i) }));
    // Several publish calls, as a connector would make them.
    for (let i = 0; i < events.length; i += 10) await bus(ctx).publish(events.slice(i, i + 10));
    await got.untilCount(events.length);
    const expected = Array.from({ length: perKey }, (_, i) => i);
    for (const key of keys) assert.equal(seen.get(key), expected, `order of key ${key}`);
    assert.is(overlaps, 0, 'two events of one key were in delivery at once');
  });

  test('every trigger whose filter matches receives the event', async (ctx) => {
    const type = uniqueType('fanout');
    const a = inbox();
    const b = inbox();
    await add(ctx, trigger({ name: 'both-a', filter: { attributes: { type } } }), a.subscriber);
    await add(ctx, trigger({ name: 'both-b', filters: [{ prefix: { type } }] }), b.subscriber);
    const e = testEvent(type, { partitionkey: randomUUID() });
    await bus(ctx).publish(e);
    await a.untilId(e.id);
    await b.untilId(e.id);
    assert.equal(a.ids(), [e.id]);
    assert.equal(b.ids(), [e.id]);
  });

  test('a removed trigger receives nothing more', async (ctx) => {
    const type = uniqueType('remove');
    const removed = inbox();
    const kept = inbox();
    const gone = trigger({ name: 'removed', filter: { attributes: { type } } });
    await bus(ctx).addTrigger(gone, removed.subscriber);
    await add(ctx, trigger({ name: 'kept', filter: { attributes: { type } } }), kept.subscriber);
    await bus(ctx).removeTrigger(gone.namespace, gone.name);
    const e = testEvent(type, { partitionkey: randomUUID() });
    await bus(ctx).publish(e);
    await kept.untilId(e.id);
    assert.is(removed.events.length, 0);
  });

  test.run();
}
