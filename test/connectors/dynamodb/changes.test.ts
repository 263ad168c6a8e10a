// Cross-instance change notification: two backends on one DynamoDB Local (as two Mooring
// processes). A commit is reported `local` to its own instance's listeners when commit resolves,
// and `remote` to the other instance's listeners through the polled changes table; an instance
// never hears its own commits as remote; a members-only commit (no change entries) still reaches
// the others as an empty list, so they drop caches.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RegistryChange } from '../../../functions/ports/registry.ts';
import type { StoredDevice } from '../../../connectors/registry/backend.ts';
import { openBackend, uniquePrefix, waitFor } from './helper.ts';

function dev(name: string, revision: number): StoredDevice {
  return {
    resource: { kind: 'Device', metadata: { name, application: 'app', uid: `uid-${name}`, generation: revision }, spec: {} },
    revision,
  };
}

function change(device: string, revision: number, path = '.'): Omit<RegistryChange, 'origin'> {
  return { kind: 'device', application: 'app', device, uid: `uid-${device}`, revision, path };
}

test('a change committed through A reaches B as remote (bounded wait) and A as local at once; neither hears its own as remote', async () => {
  const prefix = uniquePrefix('feed');
  const a = await openBackend(prefix, { instanceId: 'instance-a' });
  const b = await openBackend(prefix, { instanceId: 'instance-b' });
  const seenA: RegistryChange[][] = [];
  const seenB: RegistryChange[][] = [];
  a.onChanges((c) => seenA.push([...c]));
  b.onChanges((c) => seenB.push([...c]));
  try {
    await waitFor(() => a.feedPolls > 0 && b.feedPolls > 0, 5000, 'both feeds to poll once');
    const t0 = performance.now();
    await a.commit([{ op: 'putDevice', record: dev('d1', 1), expect: 'absent' }], [change('d1', 1)]);
    assert.equal(seenA, [[{ ...change('d1', 1), origin: 'local' }]], 'A\'s listener is called before commit resolves');
    await waitFor(() => seenB.length > 0, 5000, 'B to hear of A\'s commit');
    const delay = performance.now() - t0;
    assert.equal(seenB, [[{ ...change('d1', 1), origin: 'remote' }]]);

    await b.commit([{ op: 'putDevice', record: dev('d1', 2), expect: { revision: 1 } }], [change('d1', 2, '.spec.alias'), change('d1', 2, '.metadata')]);
    await waitFor(() => seenA.length > 1, 5000, 'A to hear of B\'s commit');
    assert.equal(seenA[1], [{ ...change('d1', 2, '.spec.alias'), origin: 'remote' }, { ...change('d1', 2, '.metadata'), origin: 'remote' }]);
    assert.equal(seenB[1], [{ ...change('d1', 2, '.spec.alias'), origin: 'local' }, { ...change('d1', 2, '.metadata'), origin: 'local' }]);

    // No change entries (e.g. members): the others still hear of it, as an empty list.
    await a.commit([{ op: 'putDevice', record: dev('d2', 1), expect: 'absent' }], []);
    await waitFor(() => seenB.length > 2, 5000, 'B to hear of an empty change list');
    assert.equal(seenB[2], []);

    // Several polls later nothing is reported twice, and no one hears its own commit as remote.
    const polls = b.feedPolls;
    await waitFor(() => b.feedPolls >= polls + 4 && a.feedPolls >= polls + 4, 5000, 'four more polls');
    console.log(`  propagation A→B: ${delay.toFixed(0)} ms; events seen by A ${seenA.length}, by B ${seenB.length}; polls A ${a.feedPolls}, B ${b.feedPolls}`);
    assert.is(seenA.length, 3);
    assert.is(seenB.length, 3);
    assert.ok(seenA.flat().every((c, i) => c.origin === (i === 1 || i === 2 ? 'remote' : 'local')), JSON.stringify(seenA));
  } finally {
    await a.close();
    await b.close();
  }
});

test('20 commits through A in parallel all reach B, each once', async () => {
  const prefix = uniquePrefix('burst');
  const a = await openBackend(prefix, { instanceId: 'a' });
  const b = await openBackend(prefix, { instanceId: 'b' });
  const seen: RegistryChange[] = [];
  b.onChanges((c) => seen.push(...c));
  try {
    await waitFor(() => b.feedPolls > 0, 5000, 'B to poll once');
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 20 }, (_, i) => a.commit(
      [{ op: 'putDevice', record: dev(`d${i}`, 1), expect: 'absent' }], [change(`d${i}`, 1)],
    )));
    await waitFor(() => seen.length >= 20, 5000, 'B to hear of all 20');
    const delay = performance.now() - t0;
    const polls = b.feedPolls;
    await waitFor(() => b.feedPolls >= polls + 3, 5000, 'three more polls');
    console.log(`  20 parallel commits: B heard ${seen.length} changes within ${delay.toFixed(0)} ms`);
    assert.equal(seen.map((c) => c.device).sort(), Array.from({ length: 20 }, (_, i) => `d${i}`).sort());
  } finally {
    await a.close();
    await b.close();
  }
});

test('a commit of 100 writes (no room for the change item in its transaction) still reaches B', async () => {
  const prefix = uniquePrefix('full');
  const a = await openBackend(prefix, { instanceId: 'a' });
  const b = await openBackend(prefix, { instanceId: 'b' });
  const seen: RegistryChange[] = [];
  b.onChanges((c) => seen.push(...c));
  try {
    await waitFor(() => b.feedPolls > 0, 5000, 'B to poll once');
    await a.commit(
      Array.from({ length: 100 }, (_, i) => ({ op: 'putDevice' as const, record: dev(`d${i}`, 1), expect: 'absent' as const })),
      Array.from({ length: 100 }, (_, i) => change(`d${i}`, 1)),
    );
    await waitFor(() => seen.length >= 100, 5000, 'B to hear of the 100 changes');
    assert.is(new Set(seen.map((c) => c.device)).size, 100);
    assert.ok(seen.every((c) => c.origin === 'remote'));
    console.log(`  100-write commit: B heard ${seen.length} changes`);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a listener that unsubscribes hears nothing more; the feed stops polling without listeners', async () => {
  const prefix = uniquePrefix('unsub');
  const a = await openBackend(prefix, { instanceId: 'a' });
  const b = await openBackend(prefix, { instanceId: 'b' });
  const seen: RegistryChange[][] = [];
  const off = b.onChanges((c) => seen.push([...c]));
  try {
    await waitFor(() => b.feedPolls > 0, 5000, 'B to poll once');
    off();
    const polls = b.feedPolls;
    await a.commit([{ op: 'putDevice', record: dev('d1', 1), expect: 'absent' }], [change('d1', 1)]);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(seen, []);
    assert.ok(b.feedPolls <= polls + 1, `polls went on: ${polls} → ${b.feedPolls}`);
  } finally {
    await a.close();
    await b.close();
  }
});

test.run();
