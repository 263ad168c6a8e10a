// Authentication of management API requests against a real OpenID provider (oidc-provider on a
// free port, its discovery and JWKS fetched over HTTP): the four credential forms, anonymous,
// more than one form, and JWTs that are valid, expired, for another audience, from another issuer,
// signed by a key the JWKS does not hold, or with a foreign azp; roles from the three claim paths.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { generateKeyPair, SignJWT } from 'jose';
import { Authenticator } from '../../api/auth/authn.ts';
import { callerOf } from '../../api/auth/caller.ts';
import { OidcVerifier } from '../../api/auth/oidc.ts';
import { errorHandler } from '../../api/errors.ts';
import { generateToken, hashToken } from '../../api/tokens/format.ts';
import { MemoryTokenStore } from '../../api/tokens/memory.ts';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { startIssuer, type TestIssuer } from './oidc-provider.ts';

let issuer: TestIssuer;
let other: TestIssuer;
let server: Server;
let base: string;
const tokens = new MemoryTokenStore();
let aliceToken: string;
let checks = 0;

test.before(async () => {
  [issuer, other] = await Promise.all([startIssuer(), startIssuer()]);
  await tokens.putUser({ id: 'u-alice', username: 'alice' });
  const t = generateToken();
  aliceToken = t.token;
  await tokens.addToken('u-alice', { prefix: t.prefix, hashedToken: hashToken(t.token), created: new Date().toISOString() });
  const authn = new Authenticator({ tokens, oidc: new OidcVerifier({ issuer: issuer.issuer, clientId: 'drogue' }), logger: silentLogger });
  const app = express();
  app.get('/who', authn.middleware(), (_req, res) => { res.json({ caller: callerOf(res) ?? null }); });
  app.use(errorHandler(silentLogger));
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await Promise.all([issuer.close(), other.close()]);
  console.log(`  authentication checks: ${checks}`);
});

interface Who { caller: { id: string; username?: string; roles: string[]; via: string } | null }
async function who(query = '', headers: Record<string, string> = {}): Promise<{ status: number; body: Who & Record<string, unknown> }> {
  const res = await fetch(`${base}/who${query}`, { headers });
  checks++;
  return { status: res.status, body: (await res.json()) as Who & Record<string, unknown> };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const basic = (u: string, p?: string) => ({ authorization: `Basic ${Buffer.from(p === undefined ? u : `${u}:${p}`).toString('base64')}` });
const FORBIDDEN = { error: 'Forbidden', message: 'Forbidden', code: 'MOORING_FORBIDDEN' };

test('no credentials: anonymous', async () => {
  assert.equal(await who(), { status: 200, body: { caller: null } });
});

test('a JWT from the token endpoint (client credentials) is accepted, as a header or ?token=', async () => {
  const jwt = await issuer.grant();
  const h = await who('', bearer(jwt));
  assert.is(h.status, 200);
  assert.is(h.body.caller!.id, 'drogue');
  assert.is(h.body.caller!.username, 'service-drogue');
  assert.equal(h.body.caller!.roles, ['offline_access']);
  assert.is(h.body.caller!.via, 'jwt');
  const q = await who(`?token=${jwt}`);
  assert.is(q.body.caller!.id, 'drogue');
  assert.is(q.status, 200);
});

test('roles from realm_access, resource_access.services and resource_access.drogue; drogue-admin', async () => {
  const jwt = await issuer.sign({
    sub: 'u-admin', aud: ['drogue', 'account'], azp: 'drogue',
    realm_access: { roles: ['r1'] }, resource_access: { services: { roles: ['s1'] }, drogue: { roles: ['drogue-admin'] }, account: { roles: ['ignored'] } },
  });
  const r = await who('', bearer(jwt));
  assert.is(r.status, 200);
  assert.equal(r.body.caller!.roles.sort(), ['drogue-admin', 'r1', 's1']);
});

test('expired, wrong audience, wrong issuer, unknown key, foreign azp, garbage: 403 Forbidden', async () => {
  // Valid before it expires (2 s lifetime), refused after.
  const short = await issuer.grant('urn:short');
  const expiry = Date.now() + 2000;
  assert.is((await who('', bearer(short))).status, 200);
  const wrongAud = await issuer.grant('urn:other');
  const foreignIssuer = await other.grant();
  const { privateKey } = await generateKeyPair('RS256');
  const unknownKey = await new SignJWT({ sub: 'x', aud: 'drogue' }).setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
    .setIssuer(issuer.issuer).setIssuedAt().setExpirationTime('5m').sign(privateKey);
  const unknownKid = await new SignJWT({ sub: 'x', aud: 'drogue' }).setProtectedHeader({ alg: 'RS256', kid: 'nope' })
    .setIssuer(issuer.issuer).setIssuedAt().setExpirationTime('5m').sign(privateKey);
  const foreignAzp = await issuer.sign({ sub: 'x', aud: 'drogue', azp: 'console' });
  const noSub = await issuer.sign({ aud: 'drogue' });
  await new Promise((r) => setTimeout(r, Math.max(0, expiry - Date.now()) + 1100));
  for (const [label, jwt] of Object.entries({ expired: short, wrongAud, foreignIssuer, unknownKey, unknownKid, foreignAzp, noSub, garbage: 'a.b.c' })) {
    const r = await who('', bearer(jwt));
    assert.equal(r, { status: 403, body: FORBIDDEN }, label);
  }
});

test('access tokens: Basic and ?username=&api_key=; unknown, wrong user, bad CRC, no password', async () => {
  const h = await who('', basic('alice', aliceToken));
  assert.is(h.status, 200);
  assert.equal(h.body.caller, { id: 'u-alice', username: 'alice', roles: [], via: 'access-token' });
  const q = await who(`?username=alice&api_key=${aliceToken}`);
  assert.is(q.body.caller!.id, 'u-alice');
  const other = generateToken().token;
  const badCrc = aliceToken.slice(0, -1) + (aliceToken.endsWith('0') ? '1' : '0');
  for (const [label, r] of Object.entries({
    unknown: await who('', basic('alice', other)),
    wrongUser: await who('', basic('bob', aliceToken)),
    badCrc: await who('', basic('alice', badCrc)),
    empty: await who('', basic('alice', '')),
    jwtAsToken: await who('', basic('alice', await issuer.grant())),
    queryUnknown: await who(`?username=alice&api_key=${other}`),
    apiKeyAlone: await who(`?api_key=${aliceToken}`),
    otherScheme: await who('', { authorization: 'Digest abc' }),
  })) assert.equal(r, { status: 403, body: FORBIDDEN }, label);
  assert.equal(await who('', basic('alice')), { status: 403, body: { error: 'Forbidden', message: 'No access token provided.', code: 'MOORING_FORBIDDEN' } });
});

test('more than one form: 403 with Drogue\'s message', async () => {
  const jwt = await issuer.grant();
  const both = { status: 403, body: { error: 'Forbidden', message: 'Invalid request: More than one way of authentication provided', code: 'MOORING_FORBIDDEN' } };
  assert.equal(await who(`?token=${jwt}`, bearer(jwt)), both);
  assert.equal(await who(`?username=alice&api_key=${aliceToken}`, basic('alice', aliceToken)), both);
  assert.equal(await who(`?token=${jwt}&username=alice&api_key=${aliceToken}`), both);
});

test('a JWT user is remembered in the user directory (for members and transfers by username)', async () => {
  const jwt = await issuer.sign({ sub: 'u-carol', aud: 'drogue', preferred_username: 'carol' });
  assert.is((await who('', bearer(jwt))).status, 200);
  assert.equal(await tokens.userByUsername('carol'), { id: 'u-carol', username: 'carol' });
});

test('without an issuer JWTs are refused; an unreachable issuer is 503, not a crash', async () => {
  const noOidc = new Authenticator({ tokens, logger: silentLogger });
  try {
    await noOidc.verifyJwt(await issuer.grant());
    assert.unreachable();
  } catch (e) { assert.is((e as { code: string }).code, 'MOORING_FORBIDDEN'); }
  const dead = new OidcVerifier({ issuer: 'http://127.0.0.1:1', clientId: 'drogue', fetchTimeoutMs: 500 });
  const deadToken = await new SignJWT({ sub: 'x', aud: 'drogue' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('http://127.0.0.1:1')
    .setExpirationTime('5m').sign(new Uint8Array(32));
  try {
    await dead.verify(deadToken);
    assert.unreachable();
  } catch (e) { assert.is((e as { code: string }).code, 'MOORING_UNAVAILABLE'); }
  checks += 2;
});

test.run();
