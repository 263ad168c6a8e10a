// Drogue's access-token format and the two TokenStore adapters: the documented example passes the
// quick check, generated tokens do, a changed character, length or prefix does not; SHA3-512 hex
// storage; the file adapter survives a reopen and refuses a corrupt file.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { base62, generateToken, hashToken, quickCheck, tokenMatches, withCrc } from '../../api/tokens/format.ts';
import { FileTokenStore } from '../../api/tokens/file.ts';
import { MemoryTokenStore } from '../../api/tokens/memory.ts';
import { isMooringError } from '../../events/errors.ts';
import { demoAccessToken, openTokenStore } from '../../api/index.ts';

test('the example of Drogue\'s docs passes the quick check; its CRC is base62 of CRC32', () => {
  const example = 'drg_012345_01234567890123456789012345678920BetF';
  assert.is(withCrc('drg_012345_012345678901234567890123456789'), example);
  assert.is(quickCheck(example), 'drg_012345');
  assert.is(base62(0), '0');
  assert.is(base62(61), 'z');
  assert.is(base62(62), '10');
});

test('generated tokens: shape, prefix, quick check; tampering is caught before any lookup', () => {
  let n = 0;
  for (let i = 0; i < 500; i++) {
    const { prefix, token } = generateToken();
    assert.match(prefix, /^drg_[0-9A-Za-z]{6}$/);
    assert.match(token, /^drg_[0-9A-Za-z]{6}_[0-9A-Za-z]{31,36}$/);
    assert.ok(token.startsWith(`${prefix}_`));
    assert.is(quickCheck(token), prefix);
    const flipped = token.slice(0, 20) + (token[20] === 'a' ? 'b' : 'a') + token.slice(21);
    assert.is(quickCheck(flipped), undefined);
    n++;
  }
  const { token } = generateToken();
  for (const bad of [token.slice(1), `x${token.slice(1)}`, `${token}0000000`, token.replace('_', '-'), '', 'drg_', `drg_abc!ef_${'a'.repeat(30)}0`]) {
    assert.is(quickCheck(bad), undefined, bad);
  }
  console.log(`  generated tokens checked: ${n}`);
});

test('stored as hex SHA3-512; comparison against the hash', () => {
  const { token } = generateToken();
  assert.is(hashToken(token), createHash('sha3-512').update(token).digest('hex'));
  assert.is(hashToken(token).length, 128);
  assert.ok(tokenMatches(token, hashToken(token)));
  assert.not.ok(tokenMatches(generateToken().token, hashToken(token)));
  assert.not.ok(tokenMatches(token, 'abcd'));
});

test('memory store: users by id and username, a username is one user\'s, tokens listed and deleted', async () => {
  const s = new MemoryTokenStore();
  await s.putUser({ id: 'u1', username: 'alice' });
  await s.putUser({ id: 'u1', username: 'alice2' });
  assert.equal(await s.userByUsername('alice2'), { id: 'u1', username: 'alice2' });
  assert.is(await s.userByUsername('alice'), undefined);
  try {
    await s.putUser({ id: 'u2', username: 'alice2' });
    assert.unreachable();
  } catch (e) { assert.ok(isMooringError(e, 'MOORING_CONFLICT')); }
  await s.addToken('u1', { prefix: 'drg_aaaaaa', hashedToken: 'h', created: 't' });
  try {
    await s.addToken('u1', { prefix: 'drg_aaaaaa', hashedToken: 'h2', created: 't' });
    assert.unreachable();
  } catch (e) { assert.ok(isMooringError(e, 'MOORING_CONFLICT')); }
  await s.deleteToken('u1', 'drg_nothere');
  assert.is((await s.listTokens('u1')).length, 1);
  await s.deleteToken('u1', 'drg_aaaaaa');
  assert.equal(await s.listTokens('u1'), []);
});

test('file store: persists across a reopen, mode 0600; a corrupt file is MOORING_INVALID_CONFIG', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mooring-tokens-'));
  try {
    const path = join(dir, 'sub', 'tokens.json');
    const a = await FileTokenStore.open(path);
    await a.putUser({ id: 'u1', username: 'alice' });
    await a.addToken('u1', { prefix: 'drg_bbbbbb', hashedToken: 'h', created: '2026-01-01T00:00:00Z', description: 'ci' });
    const b = await FileTokenStore.open(path);
    assert.equal(await b.userByUsername('alice'), { id: 'u1', username: 'alice' });
    assert.equal(await b.listTokens('u1'), [{ prefix: 'drg_bbbbbb', hashedToken: 'h', created: '2026-01-01T00:00:00Z', description: 'ci' }]);
    assert.ok(!(await readFile(path, 'utf8')).includes('drg_bbbbbb_'));
    const { statSync } = await import('node:fs');
    assert.is(statSync(path).mode & 0o777, 0o600);
    await writeFile(path, '{not json');
    try {
      await FileTokenStore.open(path);
      assert.unreachable();
    } catch (e) { assert.ok(isMooringError(e, 'MOORING_INVALID_CONFIG')); }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the demo user\'s token: issued once, kept in the data dir, the same after a restart; reissued when revoked', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mooring-demo-'));
  try {
    const store = await openTokenStore(dir);
    const first = await demoAccessToken(store, dir);
    assert.is(first.username, 'demo');
    assert.ok(quickCheck(first.token));
    const again = await demoAccessToken(await openTokenStore(dir), dir);
    assert.is(again.token, first.token);
    const reopened = await openTokenStore(dir);
    await reopened.deleteToken('demo', quickCheck(first.token)!);
    const fresh = await demoAccessToken(reopened, dir);
    assert.ok(fresh.token !== first.token);
    assert.is((await reopened.listTokens('demo')).length, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
