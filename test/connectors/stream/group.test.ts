// A stream group's settling on a bus that is not durable (`buffer`): a full queue waits while its
// member acknowledges (nothing dropped), and drops its oldest events only when nobody consumes;
// a member that leaves hands back what it held unacknowledged; on a durable bus (`ack`) the
// delivery resolves only on the acknowledgement.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamGroup, type Delivery, type StreamMember } from '../../../connectors/stream/group.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';
import type { CloudEvent } from '../../../events/cloudevent.ts';

const event = (n: number): CloudEvent => ({ specversion: '1.0', id: String(n), source: 's', type: 't', extensions: {} });

/** A member with a window that acknowledges when told. */
class Member implements StreamMember {
  held: Delivery[] = [];
  got: string[] = [];
  constructor(private readonly window: number) {}
  room(): number { return this.window - this.held.length; }
  send(d: Delivery): void { this.held.push(d); this.got.push(d.event.id); }
  ackAll(): void { const h = this.held; this.held = []; for (const d of h) d.ack(); }
}

test('buffer mode: a full queue waits for a member that acknowledges, nothing is dropped', async () => {
  const g = new StreamGroup('app.g', { settle: 'buffer', maxBuffer: 10, logger: silentLogger });
  const m = new Member(5);
  g.join(m);
  const offers = Array.from({ length: 100 }, (_, i) => g.offer(event(i)));
  let settled = 0;
  for (const o of offers) void o.then(() => settled++);
  for (let i = 0; i < 100 && m.got.length < 100; i++) {
    await new Promise((r) => setImmediate(r));
    m.ackAll();
  }
  await Promise.all(offers);
  console.log(`  delivered=${m.got.length} dropped=${g.stats.dropped} settled=${settled}`);
  assert.is(m.got.length, 100);
  assert.equal(m.got, Array.from({ length: 100 }, (_, i) => String(i)));
  assert.is(g.stats.dropped, 0);
});

test('buffer mode: with no member the queue keeps the newest maxBuffer events', async () => {
  const g = new StreamGroup('app.g2', { settle: 'buffer', maxBuffer: 10, logger: silentLogger });
  for (let i = 0; i < 25; i++) await g.offer(event(i));
  assert.is(g.queued, 10);
  assert.is(g.stats.dropped, 15);
  const m = new Member(100);
  g.join(m);
  assert.equal(m.got, ['15', '16', '17', '18', '19', '20', '21', '22', '23', '24']);
});

test('a member that leaves hands back what it held unacknowledged; ack mode resolves on the acknowledgement', async () => {
  const g = new StreamGroup('app.g3', { settle: 'ack', logger: silentLogger });
  const a = new Member(10);
  g.join(a);
  let done = 0;
  const offers = [g.offer(event(1)), g.offer(event(2))].map((p) => p.then(() => done++));
  await new Promise((r) => setImmediate(r));
  assert.is(done, 0);
  g.leave(a);
  const b = new Member(10);
  g.join(b);
  assert.equal(b.got, ['1', '2']);
  assert.ok(b.held.every((d) => d.redelivered));
  b.ackAll();
  await Promise.all(offers);
  assert.is(done, 2);
  assert.is(g.stats.redelivered, 2);
});

test.run();
