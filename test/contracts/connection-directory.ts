// The contract every ConnectionDirectory adapter passes (in-memory and DynamoDB): claim /
// refresh / release under an instance and a token, lookup, a takeover across instances (the
// previous holder hears it lost the device, the new one waits for its release), TTL expiry of an
// instance that stops refreshing (reaped once, its entries handed to one caller; a claim of a
// dead instance's device returns the orphan), and a dead instance that comes back. The clock is
// the test's: expiry is a clock move, never a wait. One directory serves the suite, so each test
// uses its own application name.

import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConnectionDirectory, ConnectionEntry, LostConnection } from '../../functions/ports/directory.ts';
import type { Clock } from '../../functions/ports/runtime.ts';

/** A clock the test moves; it starts at the real time so that stored TTL attributes are not already past. */
export class FakeClock implements Clock {
  constructor(public t = Date.now()) {}
  now(): number { return this.t; }
  advance(ms: number): void { this.t += ms; }
}

export interface DirectoryFixture {
  directory: ConnectionDirectory;
  cleanup(): Promise<void>;
}

interface Context {
  fixture?: DirectoryFixture;
  clock: FakeClock;
}

/** Collects one instance's losses. */
function losses(d: ConnectionDirectory, instance: string): { got: LostConnection[]; stop: () => void } {
  const got: LostConnection[] = [];
  const stop = d.listen(instance, (l) => got.push(l));
  return { got, stop };
}

export function connectionDirectoryContract(name: string, factory: (clock: Clock) => Promise<DirectoryFixture>): void {
  const test = suite<Context>(`ConnectionDirectory contract: ${name}`, { clock: new FakeClock() });
  const dir = (ctx: Context): ConnectionDirectory => {
    if (!ctx.fixture) throw new Error('the directory fixture did not start');
    return ctx.fixture.directory;
  };
  const app = (): string => `app-${randomUUID().slice(0, 8)}`;
  const inst = (): string => `i-${randomUUID().slice(0, 8)}`;
  const entry = (application: string, device: string, instance: string, farewell?: string): ConnectionEntry => ({
    application, device, instance, token: randomUUID(), ...(farewell === undefined ? {} : { farewell }),
  });

  /** Device `dev` of a fresh application held by instance A (farewell `bye`), B another instance. */
  const heldByA = async (ctx: Context) => {
    const d = dir(ctx);
    const a = app();
    const A = inst();
    const heardA = losses(d, A);
    const held = entry(a, 'dev', A, 'bye');
    await d.claim(held);
    return { d, a, A, B: inst(), heardA, held };
  };

  test.before(async (ctx) => {
    ctx.fixture = await factory(ctx.clock);
  });
  test.after(async (ctx) => {
    await ctx.fixture?.cleanup();
  });

  test('claim, lookup, release: only the holding token releases', async (ctx) => {
    const d = dir(ctx);
    const a = app();
    const A = inst();
    await d.refresh(A);
    const e = entry(a, 'dev', A, '{"will":null}');
    assert.equal(await d.claim(e), { claimed: true });
    assert.equal(await d.lookup(a, 'dev'), e);
    assert.is(await d.lookup(a, 'other'), undefined);
    assert.is(await d.release({ ...e, token: 'not-mine' }), false, 'another token does not release');
    assert.is(await d.release({ ...e, instance: 'elsewhere' }), false, 'another instance does not release');
    assert.ok(await d.lookup(a, 'dev'));
    assert.is(await d.release(e), true);
    assert.is(await d.lookup(a, 'dev'), undefined);
    assert.is(await d.release(e), false, 'a second release finds nothing');
  });

  test('a second connection on the same instance replaces the entry; the old token no longer releases', async (ctx) => {
    const d = dir(ctx);
    const a = app();
    const A = inst();
    const first = entry(a, 'dev', A);
    const second = entry(a, 'dev', A);
    const heard = losses(d, A);
    await d.claim(first);
    assert.equal(await d.claim(second), { claimed: true });
    assert.is(await d.release(first), false);
    assert.is((await d.lookup(a, 'dev'))?.token, second.token);
    await d.refresh(A);
    assert.is(heard.got.length, 0, 'a local takeover is the gateway\'s own business');
    heard.stop();
    console.log('  same-instance replacement: 0 losses reported');
  });

  test('takeover across instances: the holder hears it lost the device, releases, the new holder claims', async (ctx) => {
    const { d, a, A, B, heardA, held } = await heldByA(ctx);
    const wanted = entry(a, 'dev', B);
    const first = await d.claim(wanted);
    assert.is(first.claimed, false);
    assert.is(!first.claimed && first.holder.token, held.token);
    assert.is((await d.lookup(a, 'dev'))?.instance, A, 'still A\'s until it releases');
    const released = d.waitReleased(a, 'dev', held.token, 30_000);
    await d.refresh(A);
    assert.is(heardA.got.length, 1, 'A heard of the loss by its next refresh');
    assert.equal(heardA.got[0], { entry: held, farewell: true });
    assert.is(await d.release(held), true);
    assert.is(await released, true);
    assert.equal(await d.claim(wanted), { claimed: true });
    assert.is((await d.lookup(a, 'dev'))?.instance, B);
    heardA.stop();
    console.log(`  takeover: ${heardA.got.length} loss heard by the previous holder`);
  });

  test('waitReleased answers false when the holder keeps the device', async (ctx) => {
    const d = dir(ctx);
    const a = app();
    const A = inst();
    const held = entry(a, 'dev', A);
    await d.claim(held);
    assert.is(await d.waitReleased(a, 'dev', held.token, 20), false);
    assert.is(await d.waitReleased(a, 'dev', 'some-other-token', 20), true, 'a token that does not hold it is released');
  });

  test('a forced claim takes the device from a live holder, which then ends it without a word', async (ctx) => {
    const { d, a, A, B, heardA, held } = await heldByA(ctx);
    const out = await d.claim(entry(a, 'dev', B), { force: true });
    assert.equal(out, { claimed: true, orphan: held });
    await d.refresh(A);
    assert.equal(heardA.got.at(-1), { entry: held, farewell: false });
    assert.is(await d.release(held), false);
    heardA.stop();
  });

  test('TTL: an instance that stops refreshing is reaped once; its entries go to one caller; lookup hides them at once', async (ctx) => {
    const d = dir(ctx);
    const a = app();
    const A = inst();
    const B = inst();
    await d.refresh(A);
    await d.refresh(B);
    const mine = [entry(a, 'd1', A, 'w1'), entry(a, 'd2', A, 'w2')];
    for (const e of mine) await d.claim(e);
    const survivor = entry(a, 'd3', B);
    await d.claim(survivor);
    ctx.clock.advance(d.ttlMs / 2);
    await d.refresh(B);
    assert.equal(await d.reap(), [], 'nobody is dead yet');
    ctx.clock.advance(d.ttlMs / 2 + 1);
    assert.is(await d.lookup(a, 'd1'), undefined, 'a dead instance\'s entry is not looked up');
    assert.ok(await d.lookup(a, 'd3'), 'B refreshed and lives');
    const reaped = (await d.reap()).filter((e) => e.application === a);
    assert.equal(reaped.map((e) => e.device).sort(), ['d1', 'd2']);
    assert.equal(reaped.map((e) => e.farewell).sort(), ['w1', 'w2'], 'the farewell text comes back as stored');
    assert.equal((await d.reap()).filter((e) => e.application === a), [], 'each entry is handed out once');
    console.log(`  reaped ${reaped.length} entries of the dead instance`);
  });

  test('a claim of a dead instance\'s device returns the orphan; a reap does not hand it out again', async (ctx) => {
    const d = dir(ctx);
    const a = app();
    const A = inst();
    const B = inst();
    const old = entry(a, 'dev', A, 'will-of-A');
    await d.claim(old);
    ctx.clock.advance(d.ttlMs + 1);
    const out = await d.claim(entry(a, 'dev', B));
    assert.equal(out, { claimed: true, orphan: old });
    assert.equal((await d.reap()).filter((e) => e.application === a), []);
    assert.is((await d.lookup(a, 'dev'))?.instance, B);
  });

  test('a reaped instance that comes back hears that its connections are gone, without the farewell', async (ctx) => {
    const d = dir(ctx);
    const a = app();
    const A = inst();
    const heardA = losses(d, A);
    const e = entry(a, 'dev', A, 'w');
    await d.claim(e);
    ctx.clock.advance(d.ttlMs + 1);
    const reaped = (await d.reap()).filter((x) => x.application === a);
    assert.is(reaped.length, 1);
    await d.refresh(A);
    assert.equal(heardA.got.filter((l) => l.entry.application === a), [{ entry: e, farewell: false }]);
    assert.is(await d.release(e), false);
    heardA.stop();
  });

  test('refresh keeps an instance alive past the TTL', async (ctx) => {
    const d = dir(ctx);
    const a = app();
    const A = inst();
    await d.claim(entry(a, 'dev', A));
    for (let i = 0; i < 5; i++) {
      ctx.clock.advance(d.ttlMs - 1);
      await d.refresh(A);
    }
    assert.ok(await d.lookup(a, 'dev'));
    assert.equal((await d.reap()).filter((e) => e.application === a), []);
  });

  test.run();
}
