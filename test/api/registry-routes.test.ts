// The registry routes over real HTTP against the real registry store: create (201, absolute
// Location), get, list (labels, limit, offset, by name), PUT (204, locking), DELETE (204,
// preconditions body), and Drogue's statuses and bodies for bad names, mismatches, denials and
// missing resources (§5.3, §5.5).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
const R = '/api/registry/v1alpha1';
const CONFLICT = { error: 'Conflict', message: 'Conflict', code: 'MOORING_CONFLICT' };
const NOT_FOUND = { error: 'NotFound', message: 'Not found', code: 'MOORING_NOT_FOUND' };
const DENIED_APP = { error: 'AuthenticationError', message: 'Not authorized', code: 'MOORING_NOT_AUTHORIZED' };
const REF = { error: 'ReferenceNotFound', message: 'Referenced a non-existing entity', code: 'MOORING_REFERENCE_NOT_FOUND' };

test.before(async () => { h = await startHarness(); });
test.after(async () => { console.log(`  registry requests: ${h.count()}`); await h.close(); });

test('create app: 201, absolute Location, empty body; drg\'s body (creationTimestamp, generation) accepted', async () => {
  const r = await h.call('POST', `${R}/apps`, { auth: h.as.alice, body: { metadata: { name: 'app1', creationTimestamp: '2020-01-01T00:00:00Z', generation: 0, labels: { tier: 'gold' } }, spec: { x: 1 } } });
  assert.is(r.status, 201);
  assert.is(r.headers.get('location'), `${h.url}${R}/apps/app1`);
  assert.is(r.body, '');
  const g = await h.call('GET', `${R}/apps/app1`, { auth: h.as.alice });
  assert.is(g.status, 200);
  assert.is(g.body.metadata.name, 'app1');
  assert.is(g.body.metadata.generation, 0);
  assert.match(g.body.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.ok(g.body.metadata.creationTimestamp !== '2020-01-01T00:00:00Z');
  assert.equal(g.body.spec, { x: 1 });
  assert.is(g.body.kind, undefined);
  assert.is((await h.call('POST', `${R}/apps`, { auth: h.as.alice, body: { metadata: { name: 'app1' } } })).status, 409);
});

test('bad app names: 400 with an empty body; unknown metadata field: 400 InvalidRequest', async () => {
  for (const name of ['', 'Upper', '-lead', 'trail-', 'a..b', 'sp ace', 'a/b']) {
    const r = await h.call('POST', `${R}/apps`, { auth: h.as.alice, body: { metadata: { name } } });
    assert.equal([r.status, r.body], [400, ''], name);
  }
  const u = await h.call('POST', `${R}/apps`, { auth: h.as.alice, body: { metadata: { name: 'ok', revision: 3 } } });
  assert.is(u.status, 400);
  assert.is(u.body.error, 'InvalidRequest');
  assert.match(u.body.message, /revision/);
});

test('get of a missing app: 404 empty; of another user\'s app: 403 AuthenticationError', async () => {
  assert.equal(pick(await h.call('GET', `${R}/apps/nope`, { auth: h.as.alice })), [404, '']);
  assert.equal(pick(await h.call('GET', `${R}/apps/app1`, { auth: h.as.bob })), [403, DENIED_APP]);
  assert.equal(pick(await h.call('GET', `${R}/apps/app1`)), [403, DENIED_APP]);
});

test('PUT: 204; name mismatch 400 empty; stale resourceVersion or wrong uid 409; denied 403', async () => {
  const g = (await h.call('GET', `${R}/apps/app1`, { auth: h.as.alice })).body;
  const put = (body: unknown, auth = h.as.alice, path = `${R}/apps/app1`) => h.call('PUT', path, { auth, body });
  assert.equal(pick(await put({ ...g, spec: { x: 2 } })), [204, '']);
  const after = (await h.call('GET', `${R}/apps/app1`, { auth: h.as.alice })).body;
  assert.is(after.metadata.generation, 1);
  assert.ok(after.metadata.resourceVersion !== g.metadata.resourceVersion);
  assert.equal(pick(await put({ ...g, spec: { x: 3 } })), [409, CONFLICT]);
  assert.equal(pick(await put({ metadata: { ...after.metadata, uid: 'not-a-uuid' } })), [409, CONFLICT]);
  assert.equal(pick(await put({ metadata: { name: 'other' } })), [400, '']);
  assert.equal(pick(await put({ metadata: { name: 'app1' } }, h.as.bob)), [403, DENIED_APP]);
  assert.equal(pick(await put({ metadata: { name: 'nope' } }, h.as.alice, `${R}/apps/nope`)), [404, NOT_FOUND]);
});

test('list: by name, labels selector, limit/offset, visibility; bad selector 400 ParserError; bad limit 400', async () => {
  for (const name of ['c-app', 'b-app']) await h.call('POST', `${R}/apps`, { auth: h.as.alice, body: { metadata: { name, labels: { tier: name === 'b-app' ? 'gold' : 'silver' } } } });
  await h.call('POST', `${R}/apps`, { auth: h.as.bob, body: { metadata: { name: 'bobs' } } });
  const names = async (q = '', auth: string | null = h.as.alice) => ((await h.call('GET', `${R}/apps${q}`, auth === null ? {} : { auth })).body as Array<{ metadata: { name: string } }>).map((a) => a.metadata.name);
  assert.equal(await names(), ['app1', 'b-app', 'c-app']);
  assert.equal(await names('?labels=tier%3Dgold'), ['app1', 'b-app']);
  assert.equal(await names('?labels=tier%20in%20(silver)'), ['c-app']);
  assert.equal(await names('?limit=1&offset=1'), ['b-app']);
  assert.equal(await names('', h.as.bob), ['bobs']);
  assert.equal(await names('', null), []);
  const bad = await h.call('GET', `${R}/apps?labels=${encodeURIComponent('a in b')}`, { auth: h.as.alice });
  assert.is(bad.status, 400);
  assert.is(bad.body.error, 'InvalidRequest');
  assert.match(bad.body.message, /^ParserError: /);
  assert.is((await h.call('GET', `${R}/apps?limit=x`, { auth: h.as.alice })).status, 400);
});

test('devices: create 201 with Location of the path app; names with / and spaces; get, list, PUT, DELETE', async () => {
  const dev = (name: string, extra: object = {}) => ({ metadata: { application: 'app1', name, creationTimestamp: '2020-01-01T00:00:00Z', generation: 0 }, ...extra });
  const c = await h.call('POST', `${R}/apps/app1/devices`, { auth: h.as.alice, body: dev('dev 1/a', { spec: { authentication: { credentials: [{ pass: 'secret' }] } } }) });
  assert.is(c.status, 201);
  assert.is(c.headers.get('location'), `${h.url}${R}/apps/app1/devices/dev%201%2Fa`);
  const g = await h.call('GET', `${R}/apps/app1/devices/dev%201%2Fa`, { auth: h.as.alice });
  assert.is(g.status, 200);
  assert.is(g.body.metadata.application, 'app1');
  assert.is(g.body.metadata.name, 'dev 1/a');
  await h.call('POST', `${R}/apps/app1/devices`, { auth: h.as.alice, body: dev('a-dev', { metadata: { application: 'app1', name: 'a-dev', labels: { k: 'v' } } }) });
  const list = await h.call('GET', `${R}/apps/app1/devices`, { auth: h.as.alice });
  assert.equal(list.body.map((d: { metadata: { name: string } }) => d.metadata.name), ['a-dev', 'dev 1/a']);
  const sel = await h.call('GET', `${R}/apps/app1/devices?labels=k`, { auth: h.as.alice });
  assert.equal(sel.body.map((d: { metadata: { name: string } }) => d.metadata.name), ['a-dev']);
  const put = await h.call('PUT', `${R}/apps/app1/devices/a-dev`, { auth: h.as.alice, body: { metadata: { application: 'app1', name: 'a-dev', labels: { k: 'w' } } } });
  assert.equal(pick(put), [204, '']);
  assert.equal((await h.call('GET', `${R}/apps/app1/devices/a-dev`, { auth: h.as.alice })).body.metadata.labels, { k: 'w' });
  assert.equal(pick(await h.call('PUT', `${R}/apps/app1/devices/a-dev`, { auth: h.as.alice, body: { metadata: { application: 'app1', name: 'b' } } })), [400, '']);
  assert.equal(pick(await h.call('PUT', `${R}/apps/app1/devices/a-dev`, { auth: h.as.alice, body: { metadata: { application: 'b-app', name: 'a-dev' } } })), [400, '']);
  assert.equal(pick(await h.call('POST', `${R}/apps/app1/devices`, { auth: h.as.alice, body: dev('a-dev') })), [409, CONFLICT]);
  assert.equal(pick(await h.call('DELETE', `${R}/apps/app1/devices/a-dev`, { auth: h.as.alice })), [204, '']);
  assert.equal(pick(await h.call('GET', `${R}/apps/app1/devices/a-dev`, { auth: h.as.alice })), [404, '']);
  assert.equal(pick(await h.call('DELETE', `${R}/apps/app1/devices/a-dev`, { auth: h.as.alice })), [404, NOT_FOUND]);
});

test('device rules: empty name or application 400 empty; the path app is not compared on create', async () => {
  const post = (body: unknown, path = `${R}/apps/app1/devices`) => h.call('POST', path, { auth: h.as.alice, body });
  assert.equal(pick(await post({ metadata: { application: 'app1', name: '' } })), [400, '']);
  assert.equal(pick(await post({ metadata: { application: '', name: 'x' } })), [400, '']);
  assert.equal(pick(await post({ metadata: { application: 'app1', name: 'x'.repeat(256) } })), [400, '']);
  const c = await post({ metadata: { application: 'b-app', name: 'moved' } });
  assert.is(c.status, 201);
  assert.is(c.headers.get('location'), `${h.url}${R}/apps/app1/devices/moved`);
  assert.is((await h.call('GET', `${R}/apps/b-app/devices/moved`, { auth: h.as.alice })).status, 200);
});

test('device denials: create → 404 ReferenceNotFound; get/list/update/delete → 404 NotFound (also for a missing app)', async () => {
  assert.equal(pick(await h.call('POST', `${R}/apps/app1/devices`, { auth: h.as.bob, body: { metadata: { application: 'app1', name: 'x' } } })), [404, REF]);
  assert.equal(pick(await h.call('POST', `${R}/apps/nope/devices`, { auth: h.as.alice, body: { metadata: { application: 'nope', name: 'x' } } })), [404, REF]);
  assert.equal(pick(await h.call('GET', `${R}/apps/app1/devices`, { auth: h.as.bob })), [404, NOT_FOUND]);
  assert.equal(pick(await h.call('GET', `${R}/apps/nope/devices`, { auth: h.as.alice })), [404, NOT_FOUND]);
  assert.equal(pick(await h.call('GET', `${R}/apps/app1/devices/dev%201%2Fa`, { auth: h.as.bob })), [404, NOT_FOUND]);
  assert.equal(pick(await h.call('PUT', `${R}/apps/app1/devices/dev%201%2Fa`, { auth: h.as.bob, body: { metadata: { application: 'app1', name: 'dev 1/a' } } })), [404, NOT_FOUND]);
  assert.equal(pick(await h.call('DELETE', `${R}/apps/app1/devices/dev%201%2Fa`, { auth: h.as.bob })), [404, NOT_FOUND]);
});

test('DELETE with preconditions: a stale one 409, a matching one 204; an unparsable body means none', async () => {
  await h.call('POST', `${R}/apps`, { auth: h.as.alice, body: { metadata: { name: 'gone' } } });
  const g = (await h.call('GET', `${R}/apps/gone`, { auth: h.as.alice })).body;
  assert.equal(pick(await h.call('DELETE', `${R}/apps/gone`, { auth: h.as.bob })), [403, DENIED_APP]);
  assert.equal(pick(await h.call('DELETE', `${R}/apps/gone`, { auth: h.as.alice, body: { preconditions: { resourceVersion: 'stale' } } })), [409, CONFLICT]);
  assert.equal(pick(await h.call('DELETE', `${R}/apps/gone`, { auth: h.as.alice, body: { preconditions: { uid: g.metadata.uid, resourceVersion: g.metadata.resourceVersion } } })), [204, '']);
  await h.call('POST', `${R}/apps`, { auth: h.as.alice, body: { metadata: { name: 'gone2' } } });
  assert.equal(pick(await h.call('DELETE', `${R}/apps/gone2`, { auth: h.as.alice, raw: '{broken', type: 'text/plain' })), [204, '']);
  assert.equal(pick(await h.call('DELETE', `${R}/apps/gone2`, { auth: h.as.alice })), [404, NOT_FOUND]);
});

test('an app created anonymously has no owner: everyone may read it, it is in nobody\'s list', async () => {
  assert.is((await h.call('POST', `${R}/apps`, { body: { metadata: { name: 'open' } } })).status, 201);
  assert.is((await h.call('GET', `${R}/apps/open`, { auth: h.as.bob })).status, 200);
  assert.is((await h.call('GET', `${R}/apps/open`)).status, 200);
  const names = ((await h.call('GET', `${R}/apps`, { auth: h.as.bob })).body as Array<{ metadata: { name: string } }>).map((a) => a.metadata.name);
  assert.not.ok(names.includes('open'));
});

function pick(r: { status: number; body: unknown }): [number, unknown] {
  return [r.status, r.body];
}

test.run();
