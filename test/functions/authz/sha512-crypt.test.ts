import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSha512Setting, sha512Crypt } from '../../../functions/authz/sha512-crypt.ts';
import { constantTimeEqual, verifyPassword } from '../../../functions/authz/passwords.ts';
import bcrypt from 'bcryptjs';

// The test vectors published with the algorithm (Drepper, "Unix crypt using SHA-256 and SHA-512").
const vectors: Array<[string, string, string]> = [
  ['$6$saltstring', 'Hello world!',
    '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
  ['$6$rounds=10000$saltstringsaltstring', 'Hello world!',
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.'],
  ['$6$rounds=5000$toolongsaltstring', 'This is just a test',
    '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0'],
  ['$6$rounds=1400$anotherlongsaltstring', 'a very much longer text to encrypt.  This one even stretches over morethan one line.',
    '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1'],
  ['$6$rounds=77777$short', 'we have a short salt string but not a short password',
    '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0'],
  ['$6$rounds=123456$asaltof16chars..', 'a short string',
    '$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1'],
  ['$6$rounds=10$roundstoolow', 'the minimum number is still observed',
    '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.'],
];

test('sha512-crypt reproduces every vector of the specification', () => {
  for (const [setting, key, expected] of vectors) assert.is(sha512Crypt(key, setting), expected, setting);
});

test('sha512-crypt accepts the complete stored hash as the setting', () => {
  for (const [, key, expected] of vectors) assert.is(sha512Crypt(key, expected), expected);
});

test('sha512-crypt refuses a non-$6$ setting', () => {
  assert.is(sha512Crypt('x', '$5$salt'), undefined);
  assert.is(parseSha512Setting('plain'), undefined);
});

test('rounds are clamped to [1000, 999999999]', () => {
  assert.is(parseSha512Setting('$6$rounds=10$s')!.rounds, 1000);
  assert.is(parseSha512Setting('$6$rounds=9999999999$s')!.rounds, 999_999_999);
  assert.is(parseSha512Setting('$6$s')!.rounds, 5000);
});

test('verifyPassword: sha512 credential', async () => {
  const [, key, hash] = vectors[0]!;
  assert.ok(await verifyPassword({ sha512: hash }, key));
  assert.ok(await verifyPassword({ sha512: hash }, new TextEncoder().encode(key)));
  assert.not.ok(await verifyPassword({ sha512: hash }, 'Hello world?'));
  assert.not.ok(await verifyPassword({ sha512: 'not-a-hash' }, key));
});

test('verifyPassword: bcrypt credential ($2a$, $2b$, $2y$)', async () => {
  const hash = bcrypt.hashSync('s3cret', 4);
  assert.ok(await verifyPassword({ bcrypt: hash }, 's3cret'));
  assert.not.ok(await verifyPassword({ bcrypt: hash }, 's3creT'));
  assert.not.ok(await verifyPassword({ bcrypt: hash }, ''));
  for (const v of ['$2a$', '$2y$']) assert.ok(await verifyPassword({ bcrypt: hash.replace(/^\$2b\$/, v) }, 's3cret'), v);
  assert.not.ok(await verifyPassword({ bcrypt: 'garbage' }, 's3cret'));
});

test('verifyPassword: plain credential as string or {plain}', async () => {
  assert.ok(await verifyPassword('pw', 'pw'));
  assert.ok(await verifyPassword({ plain: 'pw' }, new TextEncoder().encode('pw')));
  assert.not.ok(await verifyPassword('pw', 'pw2'));
  assert.not.ok(await verifyPassword({ plain: 'pw' }, 'p'));
  assert.not.ok(await verifyPassword({ unknown: 'pw' } as never, 'pw'));
});

test('constantTimeEqual compares values of different lengths without throwing', () => {
  assert.ok(constantTimeEqual('abc', 'abc'));
  assert.not.ok(constantTimeEqual('abc', 'abcd'));
  assert.not.ok(constantTimeEqual('', 'a'));
});

test.run();
