// The in-memory ConnectionDirectory passes the contract; the in-memory CommandQueue keeps order,
// drops and counts what expired, refuses beyond its bound.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InMemoryCommandQueue, InMemoryConnectionDirectory } from '../../../connectors/directory/index.ts';
import { commandEvent } from '../../../events/constructors.ts';
import { connectionDirectoryContract, FakeClock } from '../../contracts/connection-directory.ts';

connectionDirectoryContract('in-memory', async (clock) => ({
  directory: new InMemoryConnectionDirectory({ clock, ttlMs: 10_000 }),
  cleanup: async () => {},
}));

const cmd = (n: number) => commandEvent({ id: `c${n}`, time: '2026-01-01T00:00:00Z', application: 'app', device: 'dev', command: `n${n}` });

test('queue: oldest first, per target; expired ones are dropped and counted', async () => {
  const clock = new FakeClock();
  const q = new InMemoryCommandQueue({ clock });
  const now = clock.now();
  assert.ok(await q.put('app', 'dev', cmd(1), now + 1000));
  assert.ok(await q.put('app', 'dev', cmd(2), now + 10));
  assert.ok(await q.put('app', 'dev', cmd(3), now + 1000));
  assert.ok(await q.put('app', 'gw', cmd(4), now + 1000));
  assert.is(q.stats().queued, 4);
  clock.advance(100);
  assert.equal((await q.take('app', 'dev')).map((e) => e.id), ['c1', 'c3']);
  assert.equal(await q.take('app', 'dev'), []);
  assert.equal(q.stats(), { queued: 1, taken: 2, expired: 1, refused: 0 });
  console.log(`  queue: taken ${q.stats().taken}, expired ${q.stats().expired}`);
});

test('queue: a full target refuses', async () => {
  const q = new InMemoryCommandQueue({ maxPerTarget: 2 });
  const far = Date.now() + 60_000;
  assert.ok(await q.put('app', 'dev', cmd(1), far));
  assert.ok(await q.put('app', 'dev', cmd(2), far));
  assert.is(await q.put('app', 'dev', cmd(3), far), false);
  assert.is(q.stats().refused, 1);
});

test.run();
