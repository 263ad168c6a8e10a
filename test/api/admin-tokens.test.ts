// Admin routes (members, ownership transfer, whoami) and access-token routes over real HTTP: who
// may do what, usernames in and out, Drogue's statuses (202 for a transfer, 409
// OptimisticLockFailed for stale members, 403 NotAuthorized for anonymous token calls).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
const A = '/api/admin/v1alpha1/apps';
const T = '/api/tokens/v1alpha1';
const NOT_FOUND = { error: 'NotFound', message: 'Not found', code: 'MOORING_NOT_FOUND' };
const pick = (r: { status: number; body: unknown }) => [r.status, r.body];

test.before(async () => {
  h = await startHarness();
  await h.call('POST', '/api/registry/v1alpha1/apps', { auth: h.as.alice, body: { metadata: { name: 'shop' } } });
});
test.after(async () => { console.log(`  admin and token requests: ${h.count()}`); await h.close(); });

test('whoami: the user id, or null when anonymous', async () => {
  assert.equal(pick(await h.call('GET', '/api/admin/v1alpha1/user/whoami', { auth: h.as.alice })), [200, { id: 'id-alice' }]);
  assert.equal(pick(await h.call('GET', '/api/admin/v1alpha1/user/whoami')), [200, { id: null }]);
});

test('members: Admin only (else 404); usernames in and out; roles grant access; stale version 409 OptimisticLockFailed', async () => {
  const g = await h.call('GET', `${A}/shop/members`, { auth: h.as.alice });
  assert.is(g.status, 200);
  assert.equal(g.body.members, {});
  assert.type(g.body.resourceVersion, 'string');
  assert.equal(pick(await h.call('GET', `${A}/shop/members`, { auth: h.as.bob })), [404, NOT_FOUND]);
  assert.equal(pick(await h.call('GET', `${A}/nope/members`, { auth: h.as.alice })), [404, NOT_FOUND]);
  const put = await h.call('PUT', `${A}/shop/members`, { auth: h.as.alice, body: { resourceVersion: g.body.resourceVersion, members: { bob: { role: 'reader' }, '': { role: 'reader' } } } });
  assert.equal(pick(put), [204, '']);
  const after = await h.call('GET', `${A}/shop/members`, { auth: h.as.alice });
  assert.equal(after.body.members, { bob: { role: 'reader' }, '': { role: 'reader' } });
  assert.ok(after.body.resourceVersion !== g.body.resourceVersion);
  // bob reads, may not write; anonymous reads through "".
  assert.is((await h.call('GET', '/api/registry/v1alpha1/apps/shop', { auth: h.as.bob })).status, 200);
  assert.is((await h.call('GET', '/api/registry/v1alpha1/apps/shop')).status, 200);
  assert.is((await h.call('PUT', '/api/registry/v1alpha1/apps/shop', { auth: h.as.bob, body: { metadata: { name: 'shop' } } })).status, 403);
  const stale = await h.call('PUT', `${A}/shop/members`, { auth: h.as.alice, body: { resourceVersion: g.body.resourceVersion, members: {} } });
  assert.equal(pick(stale), [409, { error: 'OptimisticLockFailed', message: 'Optimistic lock failed', code: 'MOORING_CONFLICT' }]);
  const unknown = await h.call('PUT', `${A}/shop/members`, { auth: h.as.alice, body: { members: { zed: { role: 'admin' } } } });
  assert.equal(pick(unknown), [400, { error: 'InvalidRequest', message: 'Username zed does not exist', code: 'MOORING_INVALID_REQUEST' }]);
  assert.is((await h.call('PUT', `${A}/shop/members`, { auth: h.as.alice, body: { members: { bob: { role: 'owner' } } } })).status, 400);
  // Without a version the write is unconditional; a member admin may manage members.
  assert.is((await h.call('PUT', `${A}/shop/members`, { auth: h.as.alice, body: { members: { carol: { role: 'admin' } } } })).status, 204);
  assert.is((await h.call('GET', `${A}/shop/members`, { auth: h.as.carol })).status, 200);
  assert.is((await h.call('GET', `${A}/shop/members`, { auth: h.as.bob })).status, 404);
});

test('transfer: owner initiates (202), the new owner reads and accepts; others 404; unknown user 400', async () => {
  assert.equal(pick(await h.call('GET', `${A}/shop/transfer-ownership`, { auth: h.as.alice })), [204, '']);
  assert.equal(pick(await h.call('PUT', `${A}/shop/transfer-ownership`, { auth: h.as.carol, body: { newUser: 'bob' } })), [404, NOT_FOUND]);
  assert.is((await h.call('PUT', `${A}/shop/transfer-ownership`, { auth: h.as.alice, body: { newUser: '' } })).status, 400);
  const unknown = await h.call('PUT', `${A}/shop/transfer-ownership`, { auth: h.as.alice, body: { newUser: 'zed' } });
  assert.equal(pick(unknown), [400, { error: 'InvalidRequest', message: 'Username zed does not exist', code: 'MOORING_INVALID_REQUEST' }]);
  assert.equal(pick(await h.call('PUT', `${A}/shop/transfer-ownership`, { auth: h.as.alice, body: { newUser: 'bob' } })), [202, '']);
  assert.equal(pick(await h.call('GET', `${A}/shop/transfer-ownership`, { auth: h.as.alice })), [200, { newUser: 'bob' }]);
  assert.equal(pick(await h.call('GET', `${A}/shop/transfer-ownership`, { auth: h.as.bob })), [200, { newUser: 'bob' }]);
  assert.equal(pick(await h.call('GET', `${A}/shop/transfer-ownership`, { auth: h.as.carol })), [404, NOT_FOUND]);
  assert.equal(pick(await h.call('PUT', `${A}/shop/accept-ownership`, { auth: h.as.alice })), [404, NOT_FOUND]);
  assert.equal(pick(await h.call('PUT', `${A}/shop/accept-ownership`, { auth: h.as.bob })), [204, '']);
  // bob owns it now: alice is no longer the owner.
  assert.is((await h.call('DELETE', '/api/registry/v1alpha1/apps/shop', { auth: h.as.alice })).status, 403);
  assert.is((await h.call('GET', `${A}/shop/members`, { auth: h.as.bob })).status, 200);
  // cancel: by the owner, 204; by another, 404.
  await h.call('PUT', `${A}/shop/transfer-ownership`, { auth: h.as.bob, body: { newUser: 'alice' } });
  assert.equal(pick(await h.call('DELETE', `${A}/shop/transfer-ownership`, { auth: h.as.carol })), [404, NOT_FOUND]);
  assert.equal(pick(await h.call('DELETE', `${A}/shop/transfer-ownership`, { auth: h.as.alice })), [204, '']);
  assert.equal(pick(await h.call('GET', `${A}/shop/transfer-ownership`, { auth: h.as.bob })), [204, '']);
});

test('tokens: anonymous 403 NotAuthorized; create 200 {prefix, token}; the new token works; list; delete 204 always', async () => {
  const anon = { error: 'NotAuthorized', message: 'Not authorized', code: 'MOORING_NOT_AUTHORIZED' };
  assert.equal(pick(await h.call('POST', T)), [403, anon]);
  assert.equal(pick(await h.call('GET', T)), [403, anon]);
  assert.equal(pick(await h.call('DELETE', `${T}/drg_abcdef`)), [403, anon]);
  const c = await h.call('POST', `${T}?description=ci%20runner`, { auth: h.as.alice });
  assert.is(c.status, 200);
  assert.match(c.body.prefix, /^drg_[0-9A-Za-z]{6}$/);
  assert.ok(c.body.token.startsWith(`${c.body.prefix}_`));
  const fresh = `Basic ${Buffer.from(`alice:${c.body.token}`).toString('base64')}`;
  assert.equal(pick(await h.call('GET', '/api/admin/v1alpha1/user/whoami', { auth: fresh })), [200, { id: 'id-alice' }]);
  const list = await h.call('GET', T, { auth: fresh });
  assert.is(list.status, 200);
  assert.is(list.body.length, 2);
  const mine = list.body.find((t: { prefix: string }) => t.prefix === c.body.prefix);
  assert.is(mine.description, 'ci runner');
  assert.match(mine.created, /^\d{4}-\d\d-\d\dT/);
  assert.is(mine.token, undefined);
  assert.is(mine.hashedToken, undefined);
  assert.equal((await h.call('GET', T, { auth: h.as.bob })).body.map((t: { prefix: string }) => t.prefix).includes(c.body.prefix), false);
  // bob cannot delete alice's token; deleting is 204 anyway.
  assert.equal(pick(await h.call('DELETE', `${T}/${c.body.prefix}`, { auth: h.as.bob })), [204, '']);
  assert.is((await h.call('GET', '/api/admin/v1alpha1/user/whoami', { auth: fresh })).status, 200);
  assert.equal(pick(await h.call('DELETE', `${T}/${c.body.prefix}`, { auth: h.as.alice })), [204, '']);
  assert.equal(pick(await h.call('DELETE', `${T}/${c.body.prefix}`, { auth: h.as.alice })), [204, '']);
  assert.is((await h.call('GET', '/api/admin/v1alpha1/user/whoami', { auth: fresh })).status, 403);
});

test.run();
