// Discovery (drogue-endpoints, drogue-version, info, the API's own OpenID discovery), permissive
// CORS, and bad input answered precisely (wrong content type, broken JSON, oversized body, unknown
// route), never a crash; with an external issuer (a real oidc-provider), a drogue-admin JWT.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startHarness, type Harness } from './harness.ts';
import { startIssuer, type TestIssuer } from './oidc-provider.ts';

let h: Harness;
const R = '/api/registry/v1alpha1/apps';

test.before(async () => {
  h = await startHarness({ endpoints: { mqtt: { host: 'mqtt.local', port: 1883 }, websocket_integration: { url: 'ws://ws.local/' } } });
});
test.after(async () => { console.log(`  edge requests: ${h.count()}`); await h.close(); });

test('drogue-endpoints: registry.url and issuer_url (the API itself without an issuer), snake_case', async () => {
  const r = await h.call('GET', '/.well-known/drogue-endpoints');
  assert.is(r.status, 200);
  assert.equal(r.body, {
    mqtt: { host: 'mqtt.local', port: 1883 }, websocket_integration: { url: 'ws://ws.local/' },
    api: h.url, registry: { url: h.url }, command_url: h.url, issuer_url: h.url,
  });
  const oidc = await h.call('GET', '/.well-known/openid-configuration');
  assert.is(oidc.status, 200);
  assert.is(oidc.body.issuer, h.url);
  assert.type(oidc.body.authorization_endpoint, 'string');
  assert.type(oidc.body.token_endpoint, 'string');
  assert.equal(pick(await h.call('GET', '/.well-known/drogue-version')), [200, { version: '0.11.0' }]);
});

test('info: 200 with the endpoints for a valid token or anonymous; 403 for a bad token', async () => {
  const ok = await h.call('GET', '/api/console/v1alpha1/info', { auth: h.as.alice });
  assert.is(ok.status, 200);
  assert.equal(ok.body.registry, { url: h.url });
  assert.equal(ok.body.websocket_integration, { url: 'ws://ws.local/' });
  assert.is((await h.call('GET', '/api/console/v1alpha1/info')).status, 200);
  const bad = await h.call('GET', '/api/console/v1alpha1/info', { auth: `Basic ${Buffer.from('alice:drg_nope').toString('base64')}` });
  assert.equal(pick(bad), [403, { error: 'Forbidden', message: 'Forbidden', code: 'MOORING_FORBIDDEN' }]);
});

test('CORS: the origin is echoed, preflights answered for any method and header', async () => {
  const pre = await h.call('OPTIONS', R, { headers: { origin: 'https://console.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,content-type' } });
  assert.is(pre.status, 200);
  assert.is(pre.headers.get('access-control-allow-origin'), 'https://console.example');
  assert.is(pre.headers.get('access-control-allow-methods'), 'PUT');
  assert.is(pre.headers.get('access-control-allow-headers'), 'authorization,content-type');
  assert.is(pre.headers.get('access-control-allow-credentials'), 'true');
  const get = await h.call('GET', '/.well-known/drogue-version', { headers: { origin: 'http://x' } });
  assert.is(get.headers.get('access-control-allow-origin'), 'http://x');
  assert.is((await h.call('GET', '/.well-known/drogue-version')).headers.get('access-control-allow-origin'), null);
});

test('bad input: content type 400, broken JSON 400, not an object 400, over 64 KiB 413, all JSON; unknown route 404', async () => {
  const body = JSON.stringify({ metadata: { name: 'x' } });
  const wrongType = await h.call('POST', R, { auth: h.as.alice, raw: body, type: 'text/plain' });
  assert.is(wrongType.status, 400);
  assert.is(wrongType.body.code, 'MOORING_INVALID_REQUEST');
  assert.match(wrongType.body.message, /Content type/);
  const noType = await fetch(`${h.url}${R}`, { method: 'POST', headers: { authorization: h.as.alice }, body: new Uint8Array(Buffer.from(body)) });
  assert.is(noType.status, 400);
  const broken = await h.call('POST', R, { auth: h.as.alice, raw: '{"metadata": ' });
  assert.is(broken.status, 400);
  assert.equal([broken.body.error, broken.body.code], ['InvalidRequest', 'MOORING_INVALID_REQUEST']);
  for (const raw of ['[]', '"s"', '42', 'null']) assert.is((await h.call('POST', R, { auth: h.as.alice, raw })).status, 400, raw);
  assert.is((await h.call('POST', R, { auth: h.as.alice, raw: '{}' })).status, 400);
  const huge = await h.call('POST', R, { auth: h.as.alice, body: { metadata: { name: 'big' }, spec: { blob: 'x'.repeat(70 * 1024) } } });
  assert.is(huge.status, 413);
  assert.is(huge.body.code, 'MOORING_INVALID_REQUEST');
  const charset = await h.call('POST', R, { auth: h.as.alice, raw: body, type: 'application/json; charset=utf-8' });
  assert.is(charset.status, 201);
  assert.equal(pick(await h.call('GET', '/api/nothing-here')), [404, '']);
  // Authentication is checked before the body: bad credentials win over a bad body.
  assert.is((await h.call('POST', R, { auth: 'Basic Zm9vOmJhcg==', raw: '{' })).status, 403);
  // The server is still fine.
  assert.is((await h.call('GET', '/.well-known/drogue-version')).status, 200);
});

test('the OpenAPI document at /api and /, with servers filled in', async () => {
  const r = await h.call('GET', '/api');
  assert.is(r.status, 200);
  assert.is(r.body.openapi, '3.1.0');
  assert.equal(r.body.servers, [{ url: h.url }]);
  assert.is((await h.call('GET', '/')).body.openapi, '3.1.0');
});

test('with an external issuer: issuer_url is it, no own OpenID discovery, a drogue-admin JWT sees every app', async () => {
  const issuer: TestIssuer = await startIssuer();
  const x = await startHarness({ oidcIssuer: issuer.issuer, apiUrl: 'https://api.example' });
  try {
    assert.is((await x.call('GET', '/.well-known/drogue-endpoints')).body.issuer_url, issuer.issuer);
    assert.is((await x.call('GET', '/.well-known/drogue-endpoints')).body.registry.url, 'https://api.example');
    assert.is((await x.call('GET', '/.well-known/openid-configuration')).status, 404);
    await x.call('POST', R, { auth: x.as.alice, body: { metadata: { name: 'private' } } });
    const admin = `Bearer ${await issuer.sign({ sub: 'root-id', aud: 'drogue', preferred_username: 'root', resource_access: { drogue: { roles: ['drogue-admin'] } } })}`;
    const user = `Bearer ${await issuer.grant()}`;
    assert.equal((await x.call('GET', R, { auth: admin })).body.map((a: { metadata: { name: string } }) => a.metadata.name), ['private']);
    assert.equal((await x.call('GET', R, { auth: user })).body, []);
    assert.is((await x.call('GET', `${R}/private`, { auth: admin })).status, 200);
    assert.is((await x.call('GET', `${R}/private`, { auth: user })).status, 403);
    const c = await x.call('POST', R, { auth: user, body: { metadata: { name: 'svc' } } });
    assert.is(c.headers.get('location'), 'https://api.example/api/registry/v1alpha1/apps/svc');
    assert.equal(pick(await x.call('GET', '/api/admin/v1alpha1/user/whoami', { auth: user })), [200, { id: 'drogue' }]);
    // The JWT user is now known by username: alice can make it a member.
    assert.is((await x.call('PUT', '/api/admin/v1alpha1/apps/private/members', { auth: x.as.alice, body: { members: { 'service-drogue': { role: 'reader' } } } })).status, 204);
    assert.is((await x.call('GET', `${R}/private`, { auth: user })).status, 200);
  } finally {
    await x.close();
    await issuer.close();
  }
});

function pick(r: { status: number; body: unknown }): [number, unknown] {
  return [r.status, r.body];
}

test.run();
