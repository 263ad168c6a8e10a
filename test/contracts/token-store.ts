// The contract every TokenStore passes (functions/ports/tokens.ts): the memory and file adapters
// (api/tokens) and DynamoDB (connectors/dynamodb/tokens.ts). Users by id and by username, one user
// per username (also when two users race for it), renames freeing the old name; tokens added,
// refused twice under one prefix, listed oldest first with what was stored (the hash, never the
// token), deleted (a missing one quietly). A store may share its data with other tests: every test
// uses ids of its own. A fixture that can open another store on the same data (`reopen`: another
// instance, a restart) also shows that what one wrote a store opened after it reads.

import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isMooringError } from '../../events/errors.ts';
import type { AccessTokenRecord, TokenStore } from '../../functions/ports/tokens.ts';

export interface TokenStoreFixture {
  store: TokenStore;
  /** Another store on the same data (another instance, a restart), when the adapter has one. */
  reopen?(): Promise<TokenStore>;
  close(): Promise<void>;
}

async function conflicts(p: Promise<unknown>, what: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.ok(isMooringError(err, 'MOORING_CONFLICT'), `${what}: expected MOORING_CONFLICT, got ${String(err)}`);
    return;
  }
  assert.unreachable(`${what}: expected MOORING_CONFLICT, but it succeeded`);
}

export function tokenStoreContract(name: string, factory: () => Promise<TokenStoreFixture>): void {
  const test = suite<{ fixture?: TokenStoreFixture }>(`TokenStore contract: ${name}`, {});
  const run = randomUUID().slice(0, 8);
  let n = 0;
  const id = (what: string) => `${what}-${run}-${n++}`;
  const store = (ctx: { fixture?: TokenStoreFixture }): TokenStore => {
    if (!ctx.fixture) throw new Error('the store fixture did not start');
    return ctx.fixture.store;
  };
  const token = (prefix: string, created: string, description?: string): AccessTokenRecord => ({
    prefix, hashedToken: `${'ab'.repeat(63)}${prefix.slice(-2)}`, created, ...(description !== undefined ? { description } : {}),
  });

  test.before(async (ctx) => { ctx.fixture = await factory(); });
  test.after(async (ctx) => { await ctx.fixture?.close(); });

  test('a user is found by id and by username; writing it again changes nothing', async (ctx) => {
    const s = store(ctx);
    const u = { id: id('u'), username: id('alice') };
    assert.is(await s.userById(u.id), undefined);
    assert.is(await s.userByUsername(u.username), undefined);
    await s.putUser(u);
    await s.putUser(u);
    assert.equal(await s.userById(u.id), u);
    assert.equal(await s.userByUsername(u.username), u);
  });

  test('a rename frees the old username; a username held by another user is MOORING_CONFLICT', async (ctx) => {
    const s = store(ctx);
    const uid = id('u');
    const [first, second] = [id('name'), id('name')];
    await s.putUser({ id: uid, username: first });
    await s.putUser({ id: uid, username: second });
    assert.equal(await s.userById(uid), { id: uid, username: second });
    assert.equal(await s.userByUsername(second), { id: uid, username: second });
    assert.is(await s.userByUsername(first), undefined, 'the old name no longer finds the user');
    const other = id('other');
    await conflicts(s.putUser({ id: other, username: second }), 'taking a held username');
    assert.is(await s.userById(other), undefined, 'the refused user was not written');
    await s.putUser({ id: other, username: first });
    assert.equal(await s.userByUsername(first), { id: other, username: first }, 'a freed name can be taken');
  });

  test('two users racing for one username: exactly one gets it', async (ctx) => {
    const s = store(ctx);
    const name = id('contested');
    const users = Array.from({ length: 6 }, () => ({ id: id('racer'), username: name }));
    const outcomes = await Promise.allSettled(users.map((u) => s.putUser(u)));
    const won = outcomes.filter((o) => o.status === 'fulfilled').length;
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(isMooringError(o.reason, 'MOORING_CONFLICT'), String(o.reason));
    console.log(`  ${name}: ${won} of ${users.length} racers won`);
    assert.is(won, 1);
    const holder = await s.userByUsername(name);
    assert.ok(holder !== undefined && users.some((u) => u.id === holder.id));
  });

  test('tokens: listed oldest first as stored, one prefix once per user, deleted (a missing one quietly)', async (ctx) => {
    const s = store(ctx);
    const uid = id('u');
    const other = id('u');
    await s.putUser({ id: uid, username: id('owner') });
    assert.equal(await s.listTokens(uid), []);
    const a = token('drg_bbbbbb', '2026-01-02T00:00:00.000Z', 'ci');
    const b = token('drg_aaaaaa', '2026-01-03T00:00:00.000Z');
    await s.addToken(uid, a);
    await s.addToken(uid, b);
    await conflicts(s.addToken(uid, token('drg_bbbbbb', '2026-01-04T00:00:00.000Z')), 'a second token under one prefix');
    await s.addToken(other, token('drg_bbbbbb', '2026-01-05T00:00:00.000Z'));
    assert.equal(await s.listTokens(uid), [a, b]);
    assert.is((await s.listTokens(other)).length, 1);
    await s.deleteToken(uid, 'drg_nothere');
    await s.deleteToken(id('nobody'), 'drg_aaaaaa');
    await s.deleteToken(uid, 'drg_bbbbbb');
    assert.equal(await s.listTokens(uid), [b]);
    assert.is((await s.listTokens(other)).length, 1, 'another user\'s token of that prefix stays');
    const again = token('drg_bbbbbb', '2026-01-06T00:00:00.000Z');
    await s.addToken(uid, again);
    assert.equal(await s.listTokens(uid), [b, again], 'a deleted prefix can be used again');
  });

  test('what one store wrote, a second store on the same data reads, and the other way round', async (ctx) => {
    const fixture = ctx.fixture!;
    if (!fixture.reopen) {
      console.log(`  ${name}: no second store on the same data (skipped)`);
      return;
    }
    const s = store(ctx);
    const u = { id: id('u'), username: id('shared') };
    await s.putUser(u);
    const t = token('drg_cccccc', '2026-02-01T00:00:00.000Z', 'shared');
    await s.addToken(u.id, t);
    const other = await fixture.reopen();
    assert.equal(await other.userByUsername(u.username), u);
    assert.equal(await other.listTokens(u.id), [t]);
    await other.deleteToken(u.id, t.prefix);
    await other.putUser({ id: u.id, username: `${u.username}-renamed` });
    const third = await fixture.reopen();
    assert.equal(await third.listTokens(u.id), []);
    assert.equal(await third.userById(u.id), { id: u.id, username: `${u.username}-renamed` });
  });

  test.run();
}
