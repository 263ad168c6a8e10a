// The authorisation decision (Drogue's database-common/src/auth.rs), row by row: admin role,
// no owner, owner, Owner-level actions, member roles × permissions, anonymous under "", missing
// application; and the list visibility built on it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorize, visibleInList, type Permission } from '../../api/auth/authorize.ts';
import type { ApplicationAccess } from '../../functions/ports/registry.ts';

const PERMS: Permission[] = ['Owner', 'Admin', 'Write', 'Read'];
const access = (owner: string | undefined, members: ApplicationAccess['members'] = {}): ApplicationAccess => ({ owner, members, resourceVersion: 'v' });
const alice = { id: 'alice', roles: [] };
const bob = { id: 'bob', roles: [] };
const admin = { id: 'root', roles: ['drogue-admin'] };
let decisions = 0;
function expect(a: ApplicationAccess | undefined, who: Parameters<typeof authorize>[1], allowed: Permission[], label: string): void {
  for (const p of PERMS) {
    decisions++;
    assert.is(authorize(a, who, p), allowed.includes(p) ? 'allow' : 'deny', `${label}: ${p}`);
  }
}

test('1. drogue-admin may do anything, on any app', () => {
  expect(access('alice'), admin, PERMS, 'admin on owned app');
  expect(access(undefined), admin, PERMS, 'admin on unowned app');
});

test('2. an app without an owner allows everyone, anonymous included', () => {
  expect(access(undefined), undefined, PERMS, 'anonymous');
  expect(access(undefined), bob, PERMS, 'bob');
  expect(access(''), { id: null, roles: [] }, PERMS, 'null id, empty owner');
});

test('3. the owner may do anything', () => {
  expect(access('alice'), alice, PERMS, 'owner');
});

test('4+5. Owner is for the owner only; member roles admin/manager/reader', () => {
  expect(access('alice', { bob: { role: 'admin' } }), bob, ['Admin', 'Write', 'Read'], 'member admin');
  expect(access('alice', { bob: { role: 'manager' } }), bob, ['Write', 'Read'], 'member manager');
  expect(access('alice', { bob: { role: 'reader' } }), bob, ['Read'], 'member reader');
  expect(access('alice', { carol: { role: 'admin' } }), bob, [], 'not a member');
  expect(access('alice'), undefined, [], 'anonymous on owned app');
});

test('anonymous callers are looked up under ""; a user is not', () => {
  expect(access('alice', { '': { role: 'reader' } }), undefined, ['Read'], 'anonymous reader');
  expect(access('alice', { '': { role: 'manager' } }), { id: '', roles: [] }, ['Write', 'Read'], 'empty id is anonymous');
  expect(access('alice', { '': { role: 'admin' } }), bob, [], 'a user does not inherit the anonymous entry');
  expect(access('alice', { bob: { role: 'reader' } }), { id: 'bob', roles: ['drogue-user'] }, ['Read'], 'other roles change nothing');
});

test('a missing application is denied, even to an admin', () => {
  expect(undefined, admin, [], 'missing');
  expect(undefined, undefined, [], 'missing, anonymous');
});

test('member keys are own properties only (no prototype keys)', () => {
  expect(access('alice'), { id: 'constructor', roles: [] }, [], 'constructor');
  expect(access('alice'), { id: '__proto__', roles: [] }, [], '__proto__');
});

test('list visibility: owner, member, anonymous entry; not unowned apps (Drogue\'s SQL)', () => {
  assert.ok(visibleInList(access('alice'), alice));
  assert.not.ok(visibleInList(access('alice'), bob));
  assert.ok(visibleInList(access('alice', { bob: { role: 'reader' } }), bob));
  assert.not.ok(visibleInList(access(undefined), bob));
  assert.not.ok(visibleInList(access(undefined), undefined));
  assert.ok(visibleInList(access(undefined), admin));
  assert.ok(visibleInList(access('alice', { '': { role: 'reader' } }), undefined));
  assert.not.ok(visibleInList(access('alice', { '': { role: 'reader' } }), bob));
  console.log(`  authorisation decisions checked: ${decisions}`);
});

test.run();
