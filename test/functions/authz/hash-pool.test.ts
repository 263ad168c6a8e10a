// Password hashes off the event loop (functions/authz/hash-pool.ts): the workers compute exactly
// what the inline code does (sha512-crypt and bcrypt), the event loop keeps turning while a burst
// of sha512-crypt verifications runs, and a pool whose workers are gone still answers (inline).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import bcrypt from 'bcryptjs';
import { HashPool, hashInline, hashPool } from '../../../functions/authz/hash-pool.ts';
import { sha512Crypt } from '../../../functions/authz/sha512-crypt.ts';
import { verifyPassword } from '../../../functions/authz/passwords.ts';

test('a worker computes the same sha512-crypt and bcrypt strings as the inline code', async () => {
  const pool = new HashPool(2);
  try {
    let n = 0;
    for (let i = 0; i < 12; i++) {
      const key = Buffer.from(`pässwörd-${i}-${'x'.repeat(i * 11)}`);
      const setting = i % 3 === 0 ? `$6$rounds=1000$salt${i}$` : `$6$salt${i}$`;
      assert.is(await pool.hash({ kind: 'sha512', key, setting }), sha512Crypt(key, setting));
      n++;
    }
    const salt = bcrypt.genSaltSync(4);
    const key = Buffer.from('bcrypt-secret');
    assert.is(await pool.hash({ kind: 'bcrypt', key, setting: salt }), await hashInline({ kind: 'bcrypt', key, setting: salt }));
    assert.is(await pool.hash({ kind: 'sha512', key, setting: 'not a setting' }), undefined);
    const stats = pool.stats();
    console.log(`  ${n} sha512-crypt strings and 1 bcrypt string equal to the inline ones; by workers ${stats.byWorkers}, inline ${stats.inline}`);
    assert.is(stats.inline, 0, 'every hash was computed by a worker');
    assert.is(stats.byWorkers, n + 2);
  } finally {
    await pool.close();
  }
});

test('the event loop keeps turning while 30 sha512-crypt verifications run', async () => {
  const stored = { sha512: sha512Crypt('right', '$6$loop$')! };
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 1);
  const started = Date.now();
  const before = hashPool.stats();
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => verifyPassword(stored, i === 0 ? 'right' : `wrong-${i}`)));
  clearInterval(timer);
  console.log(`  30 verifications in ${Date.now() - started} ms; ${ticks} timer ticks meanwhile`);
  const after = hashPool.stats();
  console.log(`  by workers ${after.byWorkers - before.byWorkers}, inline ${after.inline - before.inline}, ${after.workers} worker(s)`);
  assert.equal(results.filter(Boolean).length, 1);
  assert.is(after.byWorkers - before.byWorkers, 30, 'the process\'s pool computed every hash in a worker');
  assert.ok(ticks > 0, 'a 1 ms timer ran while the hashes were computed');
});

test('warm starts every worker before the first hash', async () => {
  const pool = new HashPool(2);
  try {
    pool.warm();
    assert.is(pool.stats().workers, 2);
    const key = Buffer.from('w');
    assert.is(await pool.hash({ kind: 'sha512', key, setting: '$6$w$' }), sha512Crypt(key, '$6$w$'));
    assert.equal(pool.stats(), { byWorkers: 1, inline: 0, workers: 2 });
  } finally {
    await pool.close();
  }
});

test('a closed pool still answers, inline', async () => {
  const pool = new HashPool(1);
  const key = Buffer.from('k');
  assert.is(await pool.hash({ kind: 'sha512', key, setting: '$6$a$' }), sha512Crypt(key, '$6$a$'));
  const pending = pool.hash({ kind: 'sha512', key, setting: '$6$b$' });
  await pool.close();
  assert.is(await pending, sha512Crypt(key, '$6$b$'));
  assert.ok(pool.stats().inline >= 1, 'the job pending at close was computed inline');
  assert.is(await pool.hash({ kind: 'sha512', key, setting: '$6$c$' }), sha512Crypt(key, '$6$c$'));
});

test.run();
