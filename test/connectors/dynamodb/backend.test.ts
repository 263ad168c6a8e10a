// DynamoRegistryBackend on DynamoDB Local: compare-and-set on revisions, alias claims that exactly
// one of many concurrent claimers wins, all-or-nothing commits, lookups and lists, the limits of
// one transaction, and the failures a caller sees (MOORING_CONFLICT, _INVALID_REQUEST, _UNAVAILABLE).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import { DynamoRegistryBackend } from '../../../connectors/dynamodb/index.ts';
import type { BackendWrite, StoredApplication, StoredDevice } from '../../../connectors/registry/backend.ts';
import { isMooringError, type ErrorCode } from '../../../events/errors.ts';
import { ensureDynamo, openBackend, uniquePrefix } from './helper.ts';

function app(name: string, revision = 1, owner?: string): StoredApplication {
  return {
    resource: { kind: 'Application', metadata: { name, uid: `uid-${name}`, generation: revision, resourceVersion: `rv-${revision}` }, spec: {} },
    access: { ...(owner ? { owner } : {}), members: {}, resourceVersion: 'm1' },
    revision,
  };
}

function dev(application: string, name: string, revision = 1, password = 'secret'): StoredDevice {
  return {
    resource: {
      kind: 'Device',
      metadata: { name, application, uid: `uid-${application}-${name}`, generation: revision },
      spec: { authentication: { credentials: [{ pass: password }] } },
    },
    revision,
  };
}

async function failure(p: Promise<unknown>): Promise<ErrorCode> {
  try {
    await p;
  } catch (err) {
    if (isMooringError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a failure');
}

test('tables are created once (a second open is a no-op), and a client of another region and key sees the same items (-sharedDb)', async () => {
  const prefix = uniquePrefix('tables');
  const a = await openBackend(prefix);
  const b = await openBackend(prefix, { region: 'eu-west-1', credentials: { accessKeyId: 'other', secretAccessKey: 'other' } });
  try {
    await a.commit([{ op: 'putApplication', record: app('shared'), expect: 'absent' }], []);
    assert.equal((await b.getApplication('shared'))?.resource.metadata.name, 'shared');
    assert.is(await b.getApplication('nope'), undefined);
  } finally {
    await a.close();
    await b.close();
  }
});

test('compare-and-set: absent, stale and current revisions on put and delete', async () => {
  const b = await openBackend(uniquePrefix('cas'));
  try {
    await b.commit([{ op: 'putApplication', record: app('a1', 1, 'alice'), expect: 'absent' }], []);
    assert.is(await failure(b.commit([{ op: 'putApplication', record: app('a1'), expect: 'absent' }], [])), 'MOORING_CONFLICT');
    assert.is(await failure(b.commit([{ op: 'putApplication', record: app('a1', 3), expect: { revision: 2 } }], [])), 'MOORING_CONFLICT');
    await b.commit([{ op: 'putApplication', record: app('a1', 2, 'bob'), expect: { revision: 1 } }], []);
    const stored = await b.getApplication('a1');
    assert.is(stored?.revision, 2);
    assert.is(stored?.access.owner, 'bob');
    assert.equal(stored?.resource.metadata.resourceVersion, 'rv-2');

    await b.commit([{ op: 'putDevice', record: dev('a1', 'd1'), expect: 'absent' }], []);
    assert.is(await failure(b.commit([{ op: 'putDevice', record: dev('a1', 'd1'), expect: 'absent' }], [])), 'MOORING_CONFLICT');
    assert.is(await failure(b.commit([{ op: 'deleteDevice', application: 'a1', name: 'd1', expect: { revision: 7 } }], [])), 'MOORING_CONFLICT');
    assert.is(await failure(b.commit([{ op: 'putDevice', record: dev('a1', 'nope', 2), expect: { revision: 1 } }], [])), 'MOORING_CONFLICT');
    await b.commit([{ op: 'deleteDevice', application: 'a1', name: 'd1', expect: { revision: 1 } }], []);
    assert.is(await b.getDevice('a1', 'd1'), undefined);
    assert.is(await failure(b.commit([{ op: 'deleteApplication', name: 'a1', expect: { revision: 1 } }], [])), 'MOORING_CONFLICT');
    await b.commit([{ op: 'deleteApplication', name: 'a1', expect: { revision: 2 } }], []);
    assert.is(await b.getApplication('a1'), undefined);
  } finally {
    await b.close();
  }
});

test('20 concurrent claimers of one alias: exactly one wins, the others\' device puts are rolled back', async () => {
  const b = await openBackend(uniquePrefix('claim'));
  try {
    await b.commit([{ op: 'putApplication', record: app('app'), expect: 'absent' }], []);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => b.commit([
      { op: 'putDevice', record: dev('app', `d${i}`), expect: 'absent' },
      { op: 'claimAlias', alias: { scope: 'app', value: `d${i}`, type: 'name', target: `d${i}` } },
      { op: 'claimAlias', alias: { scope: 'app', value: 'gateway-1', type: 'alias', target: `d${i}` } },
    ], [])));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [isMooringError(r.reason) ? r.reason.code : String(r.reason)] : []));
    console.log(`  claims: ${won.length} won, ${codes.length} refused (${[...new Set(codes)].join(', ')})`);
    assert.is(won.length, 1);
    assert.equal([...new Set(codes)], ['MOORING_CONFLICT']);
    const winner = `d${won[0]}`;
    const devices = await b.listDevices('app');
    assert.equal(devices.map((d) => d.resource.metadata.name), [winner], 'only the winner\'s device exists');
    assert.is((await b.findDeviceByAlias('app', 'gateway-1'))?.resource.metadata.name, winner);
    assert.is((await b.findDeviceByAlias('app', winner))?.resource.metadata.name, winner);
    assert.is(await b.findDeviceByAlias('app', 'd99'), undefined);
    assert.is(await b.findDeviceByAlias('other', 'gateway-1'), undefined, 'aliases are per application');
  } finally {
    await b.close();
  }
});

test('alias claims: re-claiming one\'s own is a no-op, another target conflicts (any type), a release frees it', async () => {
  const b = await openBackend(uniquePrefix('alias'));
  try {
    await b.commit([
      { op: 'putApplication', record: app('app'), expect: 'absent' },
      { op: 'claimAlias', alias: { scope: '', value: 'app', type: 'name', target: 'app' } },
      { op: 'putDevice', record: dev('app', 'd1'), expect: 'absent' },
      { op: 'claimAlias', alias: { scope: 'app', value: 'user-1', type: 'username', target: 'd1' } },
    ], []);
    await b.commit([{ op: 'claimAlias', alias: { scope: 'app', value: 'user-1', type: 'username', target: 'd1' } }], []);
    await b.commit([{ op: 'claimAlias', alias: { scope: 'app', value: 'user-1', type: 'alias', target: 'd1' } }], []);
    assert.is(await failure(b.commit([
      { op: 'putDevice', record: dev('app', 'd2'), expect: 'absent' },
      { op: 'claimAlias', alias: { scope: 'app', value: 'user-1', type: 'alias', target: 'd2' } },
    ], [])), 'MOORING_CONFLICT');
    assert.is(await b.getDevice('app', 'd2'), undefined, 'the put of the failed commit did not happen');
    assert.is(await failure(b.commit([{ op: 'claimAlias', alias: { scope: '', value: 'app', type: 'name', target: 'other' } }], [])), 'MOORING_CONFLICT');
    // A device alias does not collide with the global application scope.
    await b.commit([{ op: 'claimAlias', alias: { scope: 'app', value: 'app', type: 'alias', target: 'd1' } }], []);

    // Release and claim of one alias in one commit: the last write counts.
    await b.commit([
      { op: 'putDevice', record: dev('app', 'd2'), expect: 'absent' },
      { op: 'releaseAlias', alias: { scope: 'app', value: 'user-1' } },
      { op: 'claimAlias', alias: { scope: 'app', value: 'user-1', type: 'username', target: 'd2' } },
    ], []);
    assert.is((await b.findDeviceByAlias('app', 'user-1'))?.resource.metadata.name, 'd2');
    await b.commit([{ op: 'releaseAlias', alias: { scope: 'app', value: 'user-1' } }], []);
    assert.is(await b.findDeviceByAlias('app', 'user-1'), undefined);
  } finally {
    await b.close();
  }
});

test('lists: applications by scan, one application\'s devices by query (pages of many items)', async () => {
  const b = await openBackend(uniquePrefix('list'));
  try {
    await b.commit([
      { op: 'putApplication', record: app('a'), expect: 'absent' },
      { op: 'putApplication', record: app('b'), expect: 'absent' },
      { op: 'putApplication', record: app('c'), expect: 'absent' },
      ...['x', 'y'].map((d): BackendWrite => ({ op: 'putDevice', record: dev('b', d), expect: 'absent' })),
    ], []);
    // Devices of ~9 KB each: 240 of them are more than one 1 MB query page.
    const big = 'k'.repeat(9000);
    for (let chunk = 0; chunk < 4; chunk++) {
      await b.commit(Array.from({ length: 60 }, (_, i): BackendWrite => {
        const d = dev('a', `dev-${chunk * 60 + i}`, 1, big);
        return { op: 'putDevice', record: d, expect: 'absent' };
      }), []);
    }
    assert.equal((await b.listApplications()).map((a) => a.resource.metadata.name).sort(), ['a', 'b', 'c']);
    const devices = await b.listDevices('a');
    console.log(`  listDevices: ${devices.length} devices of ~9 KB`);
    assert.is(devices.length, 240);
    assert.is(new Set(devices.map((d) => d.resource.metadata.name)).size, 240);
    assert.equal((await b.listDevices('b')).map((d) => d.resource.metadata.name).sort(), ['x', 'y']);
    assert.equal(await b.listDevices('none'), []);
  } finally {
    await b.close();
  }
});

test('one commit: up to 100 writes; 101 are MOORING_INVALID_REQUEST; a record written twice is refused', async () => {
  const b = await openBackend(uniquePrefix('limit'));
  try {
    const puts = (n: number, from = 0) => Array.from({ length: n }, (_, i): BackendWrite => ({ op: 'putDevice', record: dev('a', `d${from + i}`), expect: 'absent' }));
    assert.is(await failure(b.commit(puts(101), [])), 'MOORING_INVALID_REQUEST');
    assert.equal(await b.listDevices('a'), []);
    await b.commit(puts(100), []);
    await b.commit(puts(99, 100), []);
    assert.is((await b.listDevices('a')).length, 199);
    assert.is(await failure(b.commit([...puts(1, 500), ...puts(1, 500)], [])), 'MOORING_INVALID_REQUEST');
  } finally {
    await b.close();
  }
});

test('an item beyond DynamoDB\'s 400 KB is MOORING_INVALID_REQUEST, and nothing of the commit is written', async () => {
  const b = await openBackend(uniquePrefix('size'));
  try {
    assert.is(await failure(b.commit([
      { op: 'putApplication', record: app('a'), expect: 'absent' },
      { op: 'putDevice', record: dev('a', 'huge', 1, 'x'.repeat(500_000)), expect: 'absent' },
    ], [])), 'MOORING_INVALID_REQUEST');
    assert.is(await b.getApplication('a'), undefined);
  } finally {
    await b.close();
  }
});

test('an unreachable DynamoDB is MOORING_UNAVAILABLE (reads, writes, opening); a closed backend too', async () => {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const b = new DynamoRegistryBackend({ endpoint: `http://127.0.0.1:${port}`, tablePrefix: 'none-' });
  try {
    const t0 = performance.now();
    assert.is(await failure(b.getApplication('a')), 'MOORING_UNAVAILABLE');
    console.log(`  refused connection: MOORING_UNAVAILABLE after ${(performance.now() - t0).toFixed(0)} ms (3 attempts)`);
    assert.is(await failure(b.findDeviceByAlias('a', 'd')), 'MOORING_UNAVAILABLE');
    assert.is(await failure(b.commit([{ op: 'putApplication', record: app('a'), expect: 'absent' }], [])), 'MOORING_UNAVAILABLE');
    assert.is(await failure(DynamoRegistryBackend.open({ endpoint: `http://127.0.0.1:${port}` })), 'MOORING_UNAVAILABLE');
  } finally {
    await b.close();
  }
  const live = await openBackend(uniquePrefix('closed'));
  await live.close();
  assert.is(await failure(live.getApplication('a')), 'MOORING_UNAVAILABLE');
  // Tables that were never created: unavailable, not a crash.
  const missing = new DynamoRegistryBackend({ endpoint: await ensureDynamo(), tablePrefix: uniquePrefix('missing') });
  try {
    assert.is(await failure(missing.getDevice('a', 'b')), 'MOORING_UNAVAILABLE');
  } finally {
    await missing.close();
  }
});

test('an endpoint that accepts but never answers is MOORING_UNAVAILABLE after the request timeout, not a hang', async () => {
  const sockets = new Set<import('node:net').Socket>();
  const srv = createServer((sock) => { sockets.add(sock); });
  const port = await new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)));
  const b = new DynamoRegistryBackend({ endpoint: `http://127.0.0.1:${port}`, tablePrefix: 'none-', requestTimeoutMs: 300 });
  try {
    const t0 = performance.now();
    assert.is(await failure(b.findDeviceByAlias('a', 'd')), 'MOORING_UNAVAILABLE');
    const took = performance.now() - t0;
    console.log(`  silent endpoint: MOORING_UNAVAILABLE after ${took.toFixed(0)} ms (request timeout 300 ms, 3 attempts)`);
    assert.ok(took < 5000, `took ${took} ms`);
  } finally {
    await b.close();
    for (const sock of sockets) sock.destroy();
    await new Promise((r) => srv.close(r));
  }
});

test('findDeviceByAlias on DynamoDB Local: two GetItems; latency measured over 200 lookups', async () => {
  const b = await openBackend(uniquePrefix('latency'));
  try {
    await b.commit([
      { op: 'putDevice', record: dev('app', 'd1'), expect: 'absent' },
      { op: 'claimAlias', alias: { scope: 'app', value: 'sensor-1', type: 'alias', target: 'd1' } },
    ], []);
    for (let i = 0; i < 20; i++) await b.findDeviceByAlias('app', 'sensor-1'); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      const found = await b.findDeviceByAlias('app', 'sensor-1');
      times.push(performance.now() - t);
      assert.is(found?.resource.metadata.name, 'd1');
    }
    times.sort((x, y) => x - y);
    const mean = times.reduce((a, t) => a + t, 0) / times.length;
    console.log(`  findDeviceByAlias: 200 lookups, mean ${mean.toFixed(2)} ms, p50 ${times[100]!.toFixed(2)} ms, p99 ${times[197]!.toFixed(2)} ms`);
  } finally {
    await b.close();
  }
});

test.run();
