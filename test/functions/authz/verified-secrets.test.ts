import { createHmac } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import bcrypt from 'bcryptjs';
import { authenticate } from '../../../functions/authz/authenticate.ts';
import { sha512Crypt } from '../../../functions/authz/sha512-crypt.ts';
import { VerifiedSecrets, verifiedSecretsOf } from '../../../functions/authz/verified-secrets.ts';
import type { AuthenticateOutcome } from '../../../functions/authz/types.ts';
import type { Application, Device } from '../../../functions/ports/registry.ts';
import { app, device, memoryRegistry } from '../../helpers/memory-registry.ts';

const clock = { now: () => Date.parse('2026-01-01T00:00:00Z') };
const hashA = sha512Crypt('secret-a', '$6$saltA$')!;
const hashB = sha512Crypt('secret-b', '$6$saltB$')!;
const bcryptHash = bcrypt.hashSync('secret-c', 4);

function docs(passwordOfD1 = hashA): Array<Application | Device> {
  return [
    app('app1'),
    device('app1', 'd1', { authentication: { credentials: [{ pass: { sha512: passwordOfD1 } }] } }),
    // Same stored hash, another device: its own cache entry.
    device('app1', 'd2', { authentication: { credentials: [{ pass: { sha512: hashA } }] } }),
    device('app1', 'd3', { authentication: { credentials: [{ pass: { bcrypt: bcryptHash } }] } }),
    device('app1', 'd4', { authentication: { credentials: [{ user: { username: 'u4', password: { sha512: hashB } } }] } }),
    device('app1', 'plain', { authentication: { credentials: [{ pass: 'plain-pw' }] } }),
  ];
}

function ok(r: AuthenticateOutcome, dev: string): void {
  assert.ok(r.ok, r.ok ? '' : r.message);
  if (r.ok) assert.is(r.device.metadata.name, dev);
}

function refused(r: AuthenticateOutcome): void {
  assert.not.ok(r.ok);
  if (!r.ok) assert.is(r.reason, 'bad-credentials');
}

test('a repeated connect with the same correct hashed password is answered from the cache', async () => {
  const registry = memoryRegistry(docs());
  const cache = verifiedSecretsOf(registry);
  for (let i = 0; i < 5; i++) ok(await authenticate({ username: 'd1@app1', password: 'secret-a' }, registry, clock), 'd1');
  const s = cache.stats();
  console.log(`  5 connects: ${s.misses} hash verification(s), ${s.hits} cache hit(s)`);
  assert.is(s.misses, 1);
  assert.is(s.hits, 4);
  assert.is(s.size, 1);
});

test('a wrong password is never cached and always verified in full; the right one still works after it', async () => {
  const registry = memoryRegistry(docs());
  const cache = verifiedSecretsOf(registry);
  for (let i = 0; i < 3; i++) refused(await authenticate({ username: 'd1@app1', password: 'secret-x' }, registry, clock));
  assert.equal(cache.stats(), { hits: 0, misses: 3, cleared: 0, size: 0 });
  ok(await authenticate({ username: 'd1@app1', password: 'secret-a' }, registry, clock), 'd1');
  refused(await authenticate({ username: 'd1@app1', password: 'secret-x' }, registry, clock));
  // A binary password differing from the right one in a byte is a miss too.
  refused(await authenticate({ username: 'd1@app1', password: Buffer.from('secret-A') }, registry, clock));
  const s = cache.stats();
  console.log(`  6 attempts (1 right): ${s.misses} verifications, ${s.hits} hits, ${s.size} cached`);
  assert.is(s.hits, 0);
  assert.is(s.size, 1);
});

test('the entry names the device: the same password and hash on another device is verified again', async () => {
  const registry = memoryRegistry(docs());
  const cache = verifiedSecretsOf(registry);
  ok(await authenticate({ username: 'd1@app1', password: 'secret-a' }, registry, clock), 'd1');
  ok(await authenticate({ username: 'd2@app1', password: 'secret-a' }, registry, clock), 'd2');
  assert.is(cache.stats().misses, 2);
  assert.is(cache.stats().size, 2);
  ok(await authenticate({ username: 'd2@app1', password: 'secret-a' }, registry, clock), 'd2');
  assert.is(cache.stats().hits, 1);
});

test('a registry change empties the cache; a changed password refuses the old one at once', async () => {
  const registry = memoryRegistry(docs());
  const cache = verifiedSecretsOf(registry);
  ok(await authenticate({ username: 'd1@app1', password: 'secret-a' }, registry, clock), 'd1');
  ok(await authenticate({ username: 'd1@app1', password: 'secret-a' }, registry, clock), 'd1');
  registry.set(docs(hashB));
  assert.is(cache.stats().size, 0);
  assert.is(cache.stats().cleared, 1);
  refused(await authenticate({ username: 'd1@app1', password: 'secret-a' }, registry, clock));
  ok(await authenticate({ username: 'd1@app1', password: 'secret-b' }, registry, clock), 'd1');
  ok(await authenticate({ username: 'd1@app1', password: 'secret-b' }, registry, clock), 'd1');
  const s = cache.stats();
  console.log(`  after the change: ${s.misses} verifications, ${s.hits} hits`);
  assert.is(s.hits, 2); // one before the change, one after
});

test('bcrypt and user credentials are cached the same way; plain passwords are not cached', async () => {
  const registry = memoryRegistry(docs());
  const cache = verifiedSecretsOf(registry);
  ok(await authenticate({ username: 'd3@app1', password: 'secret-c' }, registry, clock), 'd3');
  ok(await authenticate({ username: 'd3@app1', password: 'secret-c' }, registry, clock), 'd3');
  ok(await authenticate({ username: 'u4', password: 'secret-b', clientId: 'd4@app1' }, registry, clock), 'd4');
  ok(await authenticate({ username: 'u4', password: 'secret-b', clientId: 'd4@app1' }, registry, clock), 'd4');
  refused(await authenticate({ username: 'u5', password: 'secret-b', clientId: 'd4@app1' }, registry, clock));
  ok(await authenticate({ username: 'plain@app1', password: 'plain-pw' }, registry, clock), 'plain');
  ok(await authenticate({ username: 'plain@app1', password: 'plain-pw' }, registry, clock), 'plain');
  assert.equal(cache.stats(), { hits: 2, misses: 2, cleared: 0, size: 2 });
});

test('a cache hit for a device disabled since still refuses it (the check follows the credentials)', async () => {
  const registry = memoryRegistry(docs());
  ok(await authenticate({ username: 'd1@app1', password: 'secret-a' }, registry, clock), 'd1');
  // Disabled without a change notification (the cache keeps the entry): still refused.
  const d1 = (await registry.getDevice('app1', 'd1'))!;
  d1.spec.core = { disabled: true };
  const r = await authenticate({ username: 'd1@app1', password: 'secret-a' }, registry, clock);
  assert.not.ok(r.ok);
  if (!r.ok) assert.is(r.reason, 'not-authorized');
  assert.is(verifiedSecretsOf(registry).stats().hits, 1);
});

test('bounded: the least recently used entry goes first', () => {
  const cache = new VerifiedSecrets(2);
  const id = (n: string) => cache.idOf({ application: 'a', device: n, credential: 'pass', presented: 'p', stored: '$6$x$y' });
  cache.add(id('1'));
  cache.add(id('2'));
  assert.ok(cache.has(id('1'))); // 1 is now the most recent
  cache.add(id('3'));
  assert.ok(cache.has(id('1')));
  assert.not.ok(cache.has(id('2')));
  assert.ok(cache.has(id('3')));
  assert.is(cache.stats().size, 2);
});

test('ids are keyed per cache and length-prefixed (no ambiguity between parts)', () => {
  const a = new VerifiedSecrets();
  const b = new VerifiedSecrets();
  const claim = { application: 'a', device: 'd', credential: 'pass', presented: 'pw', stored: '$6$s$h' };
  assert.is(a.idOf(claim), a.idOf({ ...claim }));
  assert.is.not(a.idOf(claim), b.idOf(claim));
  assert.is.not(a.idOf({ ...claim, device: 'dp', credential: 'ass' }), a.idOf(claim));
  assert.is.not(a.idOf({ ...claim, presented: new Uint8Array([0x70, 0x77, 0]) }), a.idOf(claim));
});

test('an id is HMAC-SHA-256 under the cache key of the length-prefixed parts', () => {
  const key = Buffer.from('k'.repeat(32));
  const claims = [
    { application: 'app1', device: 'dev7', credential: 'pass', presented: 'pw-7', stored: hashA },
    { application: 'ä', device: 'd', credential: 'user:u', presented: new Uint8Array([0, 1, 255]), stored: '' },
    // Longer than the buffer the cache starts with (it grows), then a short one again.
    { application: 'app1', device: '€'.repeat(300), credential: 'pass', presented: 'x'.repeat(2000), stored: hashA },
    { application: 'app1', device: 'dev7', credential: 'pass', presented: 'pw', stored: hashA },
  ];
  const cache = new VerifiedSecrets(10, key);
  for (const claim of claims) {
    const parts = [claim.application, claim.device, claim.credential, claim.presented, claim.stored]
      .map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p)));
    const message = Buffer.concat(parts.flatMap((p) => [Buffer.from([0, 0, p.length >> 8, p.length & 255]), p]));
    assert.is(cache.idOf(claim), createHmac('sha256', key).update(message).digest('base64'));
  }
});

test.run();
