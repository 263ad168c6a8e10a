// The contract every CommandQueue adapter passes (in-memory and DynamoDB): per target, oldest
// first; what expired is dropped and counted; a full target refuses; a command is taken once.
// The clock is the test's: expiry is a clock move, never a wait.

import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { commandEvent } from '../../events/constructors.ts';
import type { CommandQueue } from '../../functions/ports/command-queue.ts';
import { FakeClock } from './connection-directory.ts';

export interface QueueFixture {
  /** A queue with `maxPerTarget` on the given clock. */
  open(options: { clock: FakeClock; maxPerTarget?: number }): Promise<CommandQueue>;
  cleanup(): Promise<void>;
}

const cmd = (app: string, n: number) => commandEvent({
  id: `c${n}`, time: '2026-01-01T00:00:00Z', application: app, device: 'dev', command: `n${n}`,
  payload: new TextEncoder().encode(`{"n":${n}}`), contentType: 'application/json',
});

export function commandQueueContract(name: string, factory: () => Promise<QueueFixture>): void {
  const test = suite<{ fixture?: QueueFixture }>(`CommandQueue contract: ${name}`, {});
  const fixture = (ctx: { fixture?: QueueFixture }): QueueFixture => {
    if (!ctx.fixture) throw new Error('the queue fixture did not start');
    return ctx.fixture;
  };
  const app = (): string => `app-${randomUUID().slice(0, 8)}`;
  test.before(async (ctx) => { ctx.fixture = await factory(); });
  test.after(async (ctx) => { await ctx.fixture?.cleanup(); });

  test('oldest first, per target; expired ones are dropped and counted; the event comes back whole', async (ctx) => {
    const clock = new FakeClock();
    const q = await fixture(ctx).open({ clock });
    const a = app();
    const now = clock.now();
    assert.ok(await q.put(a, 'dev', cmd(a, 1), now + 1000));
    clock.advance(1);
    assert.ok(await q.put(a, 'dev', cmd(a, 2), now + 10));
    clock.advance(1);
    assert.ok(await q.put(a, 'dev', cmd(a, 3), now + 1000));
    assert.ok(await q.put(a, 'gw', cmd(a, 4), now + 1000));
    assert.is(q.stats().queued, 4);
    clock.advance(100);
    const taken = await q.take(a, 'dev');
    assert.equal(taken.map((e) => e.id), ['c1', 'c3']);
    const { data, ...rest } = taken[0]!;
    const { data: sent, ...expected } = cmd(a, 1);
    assert.equal(rest, expected, 'attributes, extensions and content type unchanged');
    assert.is(Buffer.compare(Buffer.from(data!), Buffer.from(sent!)), 0, 'data unchanged');
    assert.equal(await q.take(a, 'dev'), []);
    assert.equal(q.stats(), { queued: 1, taken: 2, expired: 1, refused: 0 });
    assert.equal((await q.take(a, 'gw')).map((e) => e.id), ['c4']);
    console.log(`  queue (${name}): taken ${q.stats().taken}, expired ${q.stats().expired}`);
  });

  test('a full target refuses; an expired command no longer counts against the bound', async (ctx) => {
    const clock = new FakeClock();
    const q = await fixture(ctx).open({ clock, maxPerTarget: 2 });
    const a = app();
    assert.ok(await q.put(a, 'dev', cmd(a, 1), clock.now() + 50));
    assert.ok(await q.put(a, 'dev', cmd(a, 2), clock.now() + 60_000));
    assert.is(await q.put(a, 'dev', cmd(a, 3), clock.now() + 60_000), false);
    assert.is(q.stats().refused, 1);
    clock.advance(100);
    assert.ok(await q.put(a, 'dev', cmd(a, 4), clock.now() + 60_000));
    assert.equal((await q.take(a, 'dev')).map((e) => e.id), ['c2', 'c4']);
  });

  test('two queues on one store: a command is taken once', async (ctx) => {
    const clock = new FakeClock();
    const q1 = await fixture(ctx).open({ clock });
    const q2 = await fixture(ctx).open({ clock });
    const a = app();
    for (let i = 1; i <= 20; i++) assert.ok(await q1.put(a, 'dev', cmd(a, i), clock.now() + 60_000));
    const [x, y] = await Promise.all([q1.take(a, 'dev'), q2.take(a, 'dev')]);
    const ids = [...x, ...y].map((e) => e.id);
    assert.is(ids.length, 20, 'every command taken');
    assert.is(new Set(ids).size, 20, 'none twice');
    console.log(`  queue (${name}): 20 commands, taken ${x.length} + ${y.length}, duplicates 0`);
  });

  test.run();
}
