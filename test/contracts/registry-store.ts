// The contract every RegistryStore passes (BackendRegistryStore on the memory and file backends
// here, on DynamoDB in connectors/dynamodb): Drogue Cloud's registry rules (§5.2–§5.8 of the
// reference). One store serves the whole suite, which may be shared with other data: every test
// uses its own application names (a random prefix) and label values. Changes made through the
// store are expected to reach its onChanges listeners before the write resolves.

import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Application, Device, RegistryChange, RegistryStore } from '../../functions/ports/registry.ts';
import { isMooringError, type ErrorCode } from '../../events/errors.ts';
import { verifyPassword } from '../../functions/authz/passwords.ts';
import { makePki } from '../helpers/pki.ts';

export interface RegistryStoreFixture {
  store: RegistryStore;
  close(): Promise<void>;
}

interface Context {
  fixture?: RegistryStoreFixture;
  changes: RegistryChange[];
  off?: () => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// chrono's `%.f`: no fraction when it is zero, else 3, 6 or 9 digits (`.120Z` stays as it is).
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.(?!0+Z)(\d{3}|\d{6}|\d{9}))?Z$/;

async function rejects(p: Promise<unknown>, code: ErrorCode, what: string): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.ok(isMooringError(err, code), `${what}: expected ${code}, got ${(err as { code?: string }).code ?? String(err)}`);
    return err as Error;
  }
  assert.unreachable(`${what}: expected ${code}, but it succeeded`);
  throw new Error('unreachable');
}

export function registryStoreContract(name: string, factory: () => Promise<RegistryStoreFixture>): void {
  const test = suite<Context>(`RegistryStore contract: ${name}`, { changes: [] });
  const run = randomUUID().slice(0, 8);
  let n = 0;
  /** A fresh application name for one test. */
  const appName = (what: string) => `c${run}-${what}-${n++}`;
  const store = (ctx: Context): RegistryStore => {
    if (!ctx.fixture) throw new Error('the store fixture did not start');
    return ctx.fixture.store;
  };
  const changesOf = (ctx: Context, app: string) => ctx.changes.filter((c) => c.application === app);
  const paths = (ctx: Context, app: string, device?: string) =>
    changesOf(ctx, app).filter((c) => c.device === device).map((c) => `${c.kind}:${c.path}`);
  const app = (ctx: Context, n: string, more: Partial<Application> = {}) =>
    store(ctx).createApplication({ metadata: { name: n, ...more.metadata }, spec: more.spec ?? {}, ...(more.status ? { status: more.status } : {}) });
  const dev = (ctx: Context, application: string, n: string, spec: Device['spec'] = {}, md: Partial<Device['metadata']> = {}) =>
    store(ctx).createDevice({ metadata: { name: n, application, ...md }, spec });

  test.before(async (ctx) => {
    ctx.fixture = await factory();
    ctx.off = ctx.fixture.store.onChanges((c) => { ctx.changes.push(...c); });
  });
  test.after(async (ctx) => {
    ctx.off?.();
    await ctx.fixture?.close();
  });

  test('create application: server-set uid, creationTimestamp, generation 0, resourceVersion; client metadata kept', async (ctx) => {
    const n = appName('create');
    const created = await app(ctx, n, {
      metadata: { name: n, uid: 'client-uid', generation: 7, resourceVersion: 'client', labels: { a: 'b' }, annotations: { x: 'y' }, finalizers: ['mine'] },
      spec: { foo: { bar: 1 } },
    });
    const got = await store(ctx).getApplication(n);
    assert.ok(got);
    assert.equal(got, created);
    const md = got.metadata;
    assert.match(md.uid!, UUID);
    assert.is.not(md.uid, 'client-uid');
    assert.match(md.resourceVersion!, UUID);
    assert.match(md.creationTimestamp!, RFC3339);
    assert.is(md.generation, 0);
    assert.equal(md.labels, { a: 'b' });
    assert.equal(md.annotations, { x: 'y' });
    assert.equal(md.finalizers, ['mine']);
    assert.is(md.deletionTimestamp, undefined);
    assert.equal(got.spec, { foo: { bar: 1 } });
    await rejects(app(ctx, n), 'MOORING_CONFLICT', 'duplicate application');
    assert.equal(paths(ctx, n), ['application:.']);
    const [change] = changesOf(ctx, n);
    assert.is(change?.uid, md.uid);
    assert.is(change?.origin, 'local');
  });

  test('application names: RFC 1123 hostnames, lowercase, at most 64; unknown metadata fields refused', async (ctx) => {
    for (const bad of ['', 'Upper', '-lead', 'trail-', 'under_score', 'a..b', 'x'.repeat(65), 'sp ace']) {
      await rejects(app(ctx, bad), 'MOORING_INVALID_REQUEST', `name ${JSON.stringify(bad)}`);
    }
    const dotted = `${appName('dot')}.example`;
    await app(ctx, dotted);
    const long = `${appName('l')}-`.padEnd(64, 'x');
    await app(ctx, long);
    assert.ok(await store(ctx).getApplication(long));
    await rejects(store(ctx).createApplication({ metadata: { name: appName('unknown'), revision: 3 } as never }), 'MOORING_INVALID_REQUEST', 'unknown field');
    console.log('  invalid application names refused: 8');
  });

  test('create device: name rules, any characters, missing application, duplicates', async (ctx) => {
    const a = appName('dev');
    await app(ctx, a);
    const d = await dev(ctx, a, 'with/slash and @', { foo: 1 });
    assert.is(d.metadata.application, a);
    assert.match(d.metadata.uid!, UUID);
    assert.is(d.metadata.generation, 0);
    assert.equal((await store(ctx).getDevice(a, 'with/slash and @'))?.spec, { foo: 1 });
    await rejects(dev(ctx, a, ''), 'MOORING_INVALID_REQUEST', 'empty device name');
    await rejects(dev(ctx, a, 'x'.repeat(256)), 'MOORING_INVALID_REQUEST', '256-byte device name');
    await dev(ctx, a, 'é'.repeat(127));
    await rejects(dev(ctx, a, 'é'.repeat(128)), 'MOORING_INVALID_REQUEST', '256 bytes of UTF-8');
    await rejects(store(ctx).createDevice({ metadata: { name: 'd', application: '' } }), 'MOORING_INVALID_REQUEST', 'empty application');
    await rejects(dev(ctx, appName('missing'), 'd'), 'MOORING_REFERENCE_NOT_FOUND', 'missing application');
    await rejects(dev(ctx, a, 'with/slash and @'), 'MOORING_CONFLICT', 'duplicate device');
    await rejects(store(ctx).createDevice({ metadata: { name: 'd2', application: a, foo: 1 } as never }), 'MOORING_INVALID_REQUEST', 'unknown field');
    assert.equal(paths(ctx, a, 'with/slash and @'), ['device:.']);
  });

  test('update: generation only on spec changes, new resourceVersion per write, no-op PUT keeps everything', async (ctx) => {
    const a = appName('upd');
    const v0 = await app(ctx, a, { spec: { s: 1 }, metadata: { name: a, labels: { l: '1' } } });
    const same = await store(ctx).updateApplication({ metadata: { ...v0.metadata }, spec: { s: 1 } });
    assert.equal(same, v0, 'no effective change');
    const v1 = await store(ctx).updateApplication({ metadata: { name: a, labels: { l: '2' } }, spec: { s: 1 } });
    assert.is(v1.metadata.generation, 0);
    assert.is.not(v1.metadata.resourceVersion, v0.metadata.resourceVersion);
    assert.is(v1.metadata.uid, v0.metadata.uid);
    assert.is(v1.metadata.creationTimestamp, v0.metadata.creationTimestamp);
    const v2 = await store(ctx).updateApplication({ metadata: { name: a, labels: { l: '2' } }, spec: { s: 2, t: true }, status: { phase: 'x' } });
    assert.is(v2.metadata.generation, 1);
    assert.equal(v2.status, { phase: 'x' });
    const v3 = await store(ctx).updateApplication({ metadata: { name: a, labels: { l: '2' } }, spec: { s: 2, t: true } });
    assert.is(v3.metadata.generation, 1, 'status only');
    assert.is(v3.status, undefined, 'PUT replaces status');
    assert.equal(await store(ctx).getApplication(a), v3);
    assert.equal(paths(ctx, a), ['application:.', 'application:.metadata', 'application:.spec.s', 'application:.spec.t', 'application:.status.phase', 'application:.status.phase']);
    const revisions = changesOf(ctx, a).map((c) => c.revision);
    assert.ok(revisions.every((r, i) => i === 0 || r >= revisions[i - 1]!), `revisions increase: ${revisions.join(',')}`);
    assert.ok(revisions[revisions.length - 1]! > revisions[0]!);

    await store(ctx).createDevice({ metadata: { name: 'd', application: a }, spec: { x: 1 } });
    const d1 = await store(ctx).updateDevice({ metadata: { name: 'd', application: a, annotations: { k: 'v' } }, spec: { x: 1 } });
    assert.is(d1.metadata.generation, 0);
    const d2 = await store(ctx).updateDevice({ metadata: { ...d1.metadata }, spec: { x: 2 } });
    assert.is(d2.metadata.generation, 1);
    assert.equal(await store(ctx).updateDevice({ metadata: { ...d2.metadata }, spec: { x: 2 } }), d2);
    assert.equal(paths(ctx, a, 'd'), ['device:.', 'device:.metadata', 'device:.spec.x']);
    await rejects(store(ctx).updateDevice({ metadata: { name: 'nope', application: a } }), 'MOORING_NOT_FOUND', 'update missing device');
    await rejects(store(ctx).updateApplication({ metadata: { name: appName('nope') } }), 'MOORING_NOT_FOUND', 'update missing app');
  });

  test('preconditions: uid and resourceVersion from the body (PUT) or the preconditions (DELETE); empty ones not checked', async (ctx) => {
    const a = appName('pre');
    const v0 = await app(ctx, a);
    await rejects(store(ctx).updateApplication({ metadata: { name: a, resourceVersion: randomUUID() }, spec: { x: 1 } }), 'MOORING_CONFLICT', 'stale version');
    await rejects(store(ctx).updateApplication({ metadata: { name: a, uid: 'not-a-uuid' }, spec: { x: 1 } }), 'MOORING_CONFLICT', 'wrong uid');
    const v1 = await store(ctx).updateApplication({ metadata: { name: a, uid: '', resourceVersion: '' }, spec: { x: 1 } });
    await rejects(store(ctx).updateApplication({ metadata: { ...v0.metadata }, spec: { x: 2 } }), 'MOORING_CONFLICT', 'old version');
    await store(ctx).updateApplication({ metadata: { ...v1.metadata }, spec: { x: 2 } });
    const d = await dev(ctx, a, 'd');
    await rejects(store(ctx).deleteDevice(a, 'd', { resourceVersion: randomUUID() }), 'MOORING_CONFLICT', 'delete with stale version');
    await rejects(store(ctx).deleteDevice(a, 'd', { uid: randomUUID() }), 'MOORING_CONFLICT', 'delete with wrong uid');
    await store(ctx).deleteDevice(a, 'd', { uid: d.metadata.uid, resourceVersion: d.metadata.resourceVersion });
    assert.is(await store(ctx).getDevice(a, 'd'), undefined);
    await rejects(store(ctx).deleteDevice(a, 'd'), 'MOORING_NOT_FOUND', 'delete missing device');
    await rejects(store(ctx).deleteApplication(a, { resourceVersion: v1.metadata.resourceVersion }), 'MOORING_CONFLICT', 'delete app stale');
  });

  test('concurrent PUTs on one resourceVersion: exactly one wins', async (ctx) => {
    const a = appName('race');
    const v0 = await app(ctx, a);
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) =>
      store(ctx).updateApplication({ metadata: { ...v0.metadata }, spec: { i } })));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const conflicts = results.filter((r) => r.status === 'rejected' && isMooringError(r.reason, 'MOORING_CONFLICT')).length;
    assert.is(ok, 1);
    assert.is(conflicts, 9);
    // Without preconditions every write takes effect, one after another.
    const free = await Promise.allSettled(Array.from({ length: 8 }, (_, i) =>
      store(ctx).updateApplication({ metadata: { name: a }, spec: { j: i } })));
    const freeOk = free.filter((r) => r.status === 'fulfilled').length;
    assert.is(freeOk, 8, JSON.stringify(free.filter((r) => r.status === 'rejected')));
    assert.is((await store(ctx).getApplication(a))?.metadata.generation, 9);
    console.log(`  same-version PUTs: ${ok} won, ${conflicts} conflicts; unconditional: ${freeOk}/8`);
  });

  test('device aliases: unique per application across name, alias and unique username; released on change and delete', async (ctx) => {
    const a = appName('alias');
    const other = appName('alias-other');
    await app(ctx, a);
    await app(ctx, other);
    await dev(ctx, a, 'd1', { alias: ['serial-1'], authentication: { credentials: [{ user: { username: 'alice', password: { sha512: '$6$x$y' }, unique: true } }] } });
    await rejects(dev(ctx, a, 'serial-1'), 'MOORING_CONFLICT', 'name = existing alias');
    await rejects(dev(ctx, a, 'd2', { alias: ['d1'] }), 'MOORING_CONFLICT', 'alias = existing name');
    await rejects(dev(ctx, a, 'd2', { alias: ['alice'] }), 'MOORING_CONFLICT', 'alias = unique username');
    await rejects(dev(ctx, a, 'd2', { authentication: { credentials: [{ user: { username: 'serial-1', password: 'p', unique: true } }] } }), 'MOORING_CONFLICT', 'unique username = alias');
    assert.is(await store(ctx).getDevice(a, 'd2'), undefined, 'a refused create leaves nothing');
    await dev(ctx, a, 'd2', { authentication: { credentials: [{ user: { username: 'alice', password: 'p' } }] } });
    await dev(ctx, other, 'serial-1');
    assert.is((await store(ctx).findDevice(a, 'serial-1'))?.metadata.name, 'd1');
    assert.is((await store(ctx).findDevice(a, 'alice'))?.metadata.name, 'd1');
    assert.is((await store(ctx).findDevice(a, 'd2'))?.metadata.name, 'd2');
    assert.is((await store(ctx).findDevice(other, 'serial-1'))?.metadata.name, 'serial-1');
    await store(ctx).updateDevice({ metadata: { name: 'd1', application: a }, spec: { alias: ['serial-2'] } });
    assert.is(await store(ctx).findDevice(a, 'serial-1'), undefined);
    assert.is(await store(ctx).findDevice(a, 'alice'), undefined);
    await dev(ctx, a, 'd3', { alias: ['serial-1', 'alice'] });
    await rejects(store(ctx).updateDevice({ metadata: { name: 'd2', application: a }, spec: { alias: ['serial-2'] } }), 'MOORING_CONFLICT', 'update to a taken alias');
    assert.is((await store(ctx).findDevice(a, 'serial-2'))?.metadata.name, 'd1');
    await store(ctx).deleteDevice(a, 'd1');
    assert.is(await store(ctx).findDevice(a, 'serial-2'), undefined);
    await dev(ctx, a, 'serial-2');
  });

  test('20 concurrent creates claiming one alias: exactly one succeeds', async (ctx) => {
    const a = appName('concurrent');
    await app(ctx, a);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => dev(ctx, a, `d${i}`, { alias: ['shared'] })));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const conflicts = results.filter((r) => r.status === 'rejected' && isMooringError(r.reason, 'MOORING_CONFLICT')).length;
    assert.is(ok, 1);
    assert.is(conflicts, 19);
    assert.is((await store(ctx).listDevices(a)).length, 1);
    const holder = await store(ctx).findDevice(a, 'shared');
    assert.ok(holder);
    console.log(`  20 creates of alias "shared": ${ok} created (${holder.metadata.name}), ${conflicts} conflicts`);
    const apps = await Promise.allSettled(Array.from({ length: 10 }, () => app(ctx, `${a}-same`)));
    assert.is(apps.filter((r) => r.status === 'fulfilled').length, 1, 'one of 10 creates of one application name');
  });

  test('application aliases: trust anchor subjects are global x509/ca aliases; status.trustAnchors recomputed', async (ctx) => {
    const pki = makePki();
    try {
      const subject = `/CN=${run} CA/O=Drogue IoT/OU=Cloud`;
      pki.ca('ca', subject);
      const a = appName('ta');
      const created = await app(ctx, a, { spec: { trustAnchors: { anchors: [{ certificate: pki.anchor('ca') }, { certificate: 'bm90IGEgY2VydA==' }] } }, status: { trustAnchors: 'client' } });
      const anchors = (created.status?.trustAnchors as { anchors: Array<Record<string, Record<string, string>>> }).anchors;
      assert.is(anchors.length, 2);
      assert.match(anchors[0]!.valid!.subject!, `CN=${run} CA`);
      assert.match(anchors[0]!.valid!.notAfter!, RFC3339);
      assert.ok(anchors[1]!.invalid, 'the second anchor is not a certificate');
      await rejects(app(ctx, appName('ta2'), { spec: { trustAnchors: { anchors: [{ certificate: pki.anchor('ca') }] } } }), 'MOORING_CONFLICT', 'same CA subject');
      const noAnchors = await app(ctx, appName('ta3'), { status: { trustAnchors: 'kept' } });
      assert.equal(noAnchors.status, { trustAnchors: 'kept' }, 'without spec.trustAnchors the status is kept');
      await store(ctx).updateApplication({ metadata: { name: a }, spec: {} });
      await app(ctx, appName('ta4'), { spec: { trustAnchors: { anchors: [{ certificate: pki.anchor('ca') }] } } });
    } finally { pki.cleanup(); }
  });

  test('lists: ordered by name, label selectors, filter before limit and offset', async (ctx) => {
    const tag = `t${run}${n++}`;
    const names = ['b', 'a', 'd', 'c', 'e'].map((x) => `c${run}-list-${tag}-${x}`);
    for (const [i, nm] of names.entries()) await app(ctx, nm, { metadata: { name: nm, labels: { suite: tag, i: String(i), ...(i % 2 === 0 ? { even: 'yes' } : {}) } } });
    const list = async (labels: string, more = {}) => (await store(ctx).listApplications({ labels: `suite=${tag}${labels}`, ...more })).map((x) => x.metadata.name.slice(-1));
    assert.equal(await list(''), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(await list(',even'), ['b', 'd', 'e']);
    assert.equal(await list(',!even'), ['a', 'c']);
    assert.equal(await list(',i in (1, 3)'), ['a', 'c']);
    assert.equal(await list(',i notin (1,3)'), ['b', 'd', 'e']);
    assert.equal(await list(',i!=0'), ['a', 'c', 'd', 'e']);
    assert.equal(await list(',even=yes,i=4'), ['e']);
    assert.equal(await list('', { limit: 2 }), ['a', 'b']);
    assert.equal(await list('', { limit: 2, offset: 3 }), ['d', 'e']);
    assert.equal(await list('', { offset: 10 }), []);
    const visible = await store(ctx).listApplications({ labels: `suite=${tag}`, limit: 2, filter: (x) => !x.metadata.name.endsWith('a') });
    assert.equal(visible.map((x) => x.metadata.name.slice(-1)), ['b', 'c']);
    const err = await rejects(store(ctx).listApplications({ labels: 'a in b' }), 'MOORING_INVALID_REQUEST', 'bad selector');
    assert.match(err.message, /^ParserError: /);

    const a = names[0]!;
    for (const d of ['z', 'x', 'y']) await dev(ctx, a, d, {}, { labels: { letter: d } });
    assert.equal((await store(ctx).listDevices(a)).map((d) => d.metadata.name), ['x', 'y', 'z']);
    assert.equal((await store(ctx).listDevices(a, { labels: 'letter notin (y)', offset: 1 })).map((d) => d.metadata.name), ['z']);
    assert.equal(await store(ctx).listDevices(appName('none')), []);
  });

  test('credentials are hashed on write (sha512-crypt), verify, and round-trip GET → PUT unchanged', async (ctx) => {
    const a = appName('cred');
    await app(ctx, a);
    const d = await dev(ctx, a, 'd', {
      authentication: {
        credentials: [
          { pass: 'p1' }, { pass: { plain: 'p2' } }, { user: { username: 'u', password: 'p3' } },
          { user: { username: 'v', password: { plain: 'p4' }, unique: true } }, { pass: { bcrypt: '$2b$04$abcdefghijklmnopqrstuuQ1bA5UmR1JDyKm4N0rNcWPbM3nqM7Pe' } },
          { psk: { key: 'AAAA' } },
        ],
      },
    });
    const creds = (await store(ctx).getDevice(a, 'd'))!.spec.authentication!.credentials!;
    assert.equal(creds, d.spec.authentication!.credentials);
    const hashes = [
      (creds[0] as { pass: { sha512: string } }).pass.sha512, (creds[1] as { pass: { sha512: string } }).pass.sha512,
      (creds[2] as { user: { password: { sha512: string } } }).user.password.sha512, (creds[3] as { user: { password: { sha512: string } } }).user.password.sha512,
    ];
    for (const [i, h] of hashes.entries()) {
      assert.match(h, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
      assert.ok(await verifyPassword({ sha512: h }, `p${i + 1}`), `password ${i + 1} verifies`);
      assert.not.ok(await verifyPassword({ sha512: h }, 'wrong'));
    }
    assert.equal(creds[4], { pass: { bcrypt: '$2b$04$abcdefghijklmnopqrstuuQ1bA5UmR1JDyKm4N0rNcWPbM3nqM7Pe' } }, 'hashes kept');
    assert.equal(creds[5], { psk: { key: 'AAAA' } });
    assert.is((await store(ctx).findDevice(a, 'v'))?.metadata.name, 'd');
    const before = changesOf(ctx, a).length;
    const again = await store(ctx).updateDevice({ metadata: { ...d.metadata }, spec: structuredClone(d.spec) });
    assert.is(again.metadata.resourceVersion, d.metadata.resourceVersion, 'GET → PUT is no change');
    const plainAgain = await store(ctx).updateDevice({ metadata: { name: 'd', application: a }, spec: { authentication: { credentials: [{ pass: 'p1' }, ...creds.slice(1)] } } });
    assert.is(plainAgain.metadata.resourceVersion, d.metadata.resourceVersion, 're-sending the same plain password is no change');
    assert.is(changesOf(ctx, a).length, before);
    const changed = await store(ctx).updateDevice({ metadata: { name: 'd', application: a }, spec: { authentication: { credentials: [{ pass: 'new' }] } } });
    const h = (changed.spec.authentication!.credentials![0] as { pass: { sha512: string } }).pass.sha512;
    assert.ok(await verifyPassword({ sha512: h }, 'new'));
    assert.equal(paths(ctx, a, 'd').slice(-1), ['device:.spec.authentication']);
  });

  test('delete device: without finalizers gone (`.`); with finalizers marked (`.metadata`), then gone without event when they are cleared', async (ctx) => {
    const a = appName('deldev');
    await app(ctx, a);
    await dev(ctx, a, 'plain', { alias: ['pa'] });
    await store(ctx).deleteDevice(a, 'plain');
    assert.is(await store(ctx).getDevice(a, 'plain'), undefined);
    await dev(ctx, a, 'fin', { alias: ['pa'] }, { finalizers: ['keep'] });
    await store(ctx).deleteDevice(a, 'fin');
    const marked = await store(ctx).getDevice(a, 'fin');
    assert.match(marked?.metadata.deletionTimestamp ?? '', RFC3339);
    await rejects(store(ctx).deleteDevice(a, 'fin'), 'MOORING_NOT_FOUND', 'already being deleted');
    await store(ctx).updateDevice({ metadata: { name: 'fin', application: a, finalizers: [] }, spec: marked!.spec });
    assert.is(await store(ctx).getDevice(a, 'fin'), undefined);
    assert.is(await store(ctx).findDevice(a, 'pa'), undefined);
    assert.equal(paths(ctx, a, 'plain'), ['device:.', 'device:.']);
    assert.equal(paths(ctx, a, 'fin'), ['device:.', 'device:.metadata']);
  });

  test('delete application: devices without finalizers go silently; the application goes with `.`', async (ctx) => {
    const a = appName('delapp');
    await app(ctx, a);
    // 60 devices with an alias each: 180 writes, more than one DynamoDB transaction.
    for (let i = 0; i < 60; i++) await dev(ctx, a, `d${i}`, { alias: [`a${i}`] });
    const before = changesOf(ctx, a).length;
    await store(ctx).deleteApplication(a);
    assert.is(await store(ctx).getApplication(a), undefined);
    assert.equal(await store(ctx).listDevices(a), []);
    assert.equal(changesOf(ctx, a).slice(before).map((c) => `${c.kind}:${c.path}`), ['application:.']);
    await rejects(store(ctx).deleteApplication(a), 'MOORING_NOT_FOUND', 'deleted app');
    // Names and aliases are free again.
    await app(ctx, a);
    await dev(ctx, a, 'd0', { alias: ['a1'] });
    console.log('  devices deleted with their application: 60');
  });

  test('delete application with a finalizing device: has-devices, marked; finished without events when the device goes', async (ctx) => {
    const a = appName('delfin');
    await app(ctx, a);
    await dev(ctx, a, 'plain');
    await dev(ctx, a, 'kept', {}, { finalizers: ['operator'] });
    const before = changesOf(ctx, a).length;
    await store(ctx).deleteApplication(a);
    const marked = await store(ctx).getApplication(a);
    assert.ok(marked);
    assert.equal(marked.metadata.finalizers, ['has-devices']);
    assert.match(marked.metadata.deletionTimestamp ?? '', RFC3339);
    assert.is(await store(ctx).getDevice(a, 'plain'), undefined);
    const kept = await store(ctx).getDevice(a, 'kept');
    assert.is(kept?.metadata.deletionTimestamp, undefined, 'remaining devices are not marked');
    await rejects(dev(ctx, a, 'new'), 'MOORING_REFERENCE_NOT_FOUND', 'create in an app being deleted');
    await rejects(store(ctx).deleteApplication(a), 'MOORING_NOT_FOUND', 'app already being deleted');
    assert.equal(changesOf(ctx, a).slice(before).map((c) => `${c.kind}:${c.path}`), ['application:.metadata']);
    await store(ctx).deleteDevice(a, 'kept');
    await store(ctx).updateDevice({ metadata: { name: 'kept', application: a }, spec: {} });
    assert.is(await store(ctx).getDevice(a, 'kept'), undefined);
    assert.is(await store(ctx).getApplication(a), undefined, 'the last device took the application with it');
    assert.equal(changesOf(ctx, a).slice(before).map((c) => `${c.kind}:${c.path}`), ['application:.metadata', 'device:.metadata']);

    const b = appName('delfin-app');
    await app(ctx, b, { metadata: { name: b, finalizers: ['operator'] } });
    await store(ctx).deleteApplication(b);
    assert.ok((await store(ctx).getApplication(b))?.metadata.deletionTimestamp);
    await store(ctx).updateApplication({ metadata: { name: b }, spec: {} });
    assert.is(await store(ctx).getApplication(b), undefined, 'clearing the finalizers removes it');
    assert.equal(paths(ctx, b), ['application:.', 'application:.metadata']);
  });

  test('access: owner, members with their own version (not the resourceVersion), ownership transfer', async (ctx) => {
    const a = appName('access');
    const created = await store(ctx).createApplication({ metadata: { name: a } }, { owner: 'user-1' });
    const acc0 = await store(ctx).getAccess(a);
    assert.is(acc0?.owner, 'user-1');
    assert.equal(acc0?.members, {});
    assert.ok(acc0?.resourceVersion);
    const before = changesOf(ctx, a).length;
    await store(ctx).setMembers(a, { 'user-2': { role: 'reader' }, '': { role: 'manager' } }, acc0!.resourceVersion);
    const acc1 = await store(ctx).getAccess(a);
    assert.equal(acc1?.members, { 'user-2': { role: 'reader' }, '': { role: 'manager' } });
    assert.is.not(acc1?.resourceVersion, acc0?.resourceVersion);
    await rejects(store(ctx).setMembers(a, {}, acc0!.resourceVersion), 'MOORING_CONFLICT', 'stale members version');
    await store(ctx).setMembers(a, { 'user-3': { role: 'admin' } });
    assert.is((await store(ctx).getApplication(a))?.metadata.resourceVersion, created.metadata.resourceVersion);
    await store(ctx).setTransferOwner(a, 'user-3');
    assert.is((await store(ctx).getAccess(a))?.transferOwner, 'user-3');
    await store(ctx).setTransferOwner(a, undefined);
    assert.is((await store(ctx).getAccess(a))?.transferOwner, undefined);
    await rejects(store(ctx).acceptTransfer(a), 'MOORING_NOT_FOUND', 'no transfer pending');
    await store(ctx).setTransferOwner(a, 'user-3');
    await store(ctx).acceptTransfer(a);
    const acc2 = await store(ctx).getAccess(a);
    assert.is(acc2?.owner, 'user-3');
    assert.is(acc2?.transferOwner, undefined);
    assert.equal(acc2?.members, { 'user-3': { role: 'admin' } });
    assert.is(changesOf(ctx, a).length, before, 'no registry events for access');
    const anonymous = appName('anon');
    await app(ctx, anonymous);
    assert.is((await store(ctx).getAccess(anonymous))?.owner, undefined);
    const seen = await store(ctx).listApplications({ labels: '', filter: (x, acc) => x.metadata.name === a && acc.owner === 'user-3' });
    assert.equal(seen.map((x) => x.metadata.name), [a]);
    await rejects(store(ctx).setMembers(appName('none'), {}), 'MOORING_NOT_FOUND', 'members of a missing app');
  });

  test('onChange (reader) fires on every change', async (ctx) => {
    let fired = 0;
    const off = store(ctx).onChange(() => { fired++; });
    const a = appName('reader');
    await app(ctx, a);
    await dev(ctx, a, 'd');
    off();
    await dev(ctx, a, 'e');
    assert.is(fired, 2);
  });

  test.run();
}
