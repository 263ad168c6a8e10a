// The file backend beneath the store: API writes persist into the YAML file (in place, comments
// kept, hashed passwords), survive a restart, hand edits are reported as the changes they made,
// and a write that would make the file unloadable is refused.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRegistry, type ReloadOutcome } from '../../../connectors/registry/index.ts';
import type { RegistryChange } from '../../../functions/ports/registry.ts';
import { authenticate } from '../../../functions/authz/authenticate.ts';
import { systemClock } from '../../../functions/ports/runtime.ts';
import { isMooringError } from '../../../events/errors.ts';

const FILE = `# my registry
kind: Application
metadata:
  name: app1   # the app
  labels: {tier: gold}
spec:
  custom: {a: 1}
---
# a sensor in the short form
name: s1
application: app1
credentials: {}
`;

async function fixture(text = FILE): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mooring-file-store-'));
  const path = join(dir, 'registry.yaml');
  await writeFile(path, text);
  return { dir, path };
}

function nextReload(reg: FileRegistry, pred: (o: ReloadOutcome) => boolean): Promise<ReloadOutcome> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error('no reload within 5 s')); }, 5000);
    const off = reg.onReload((o) => { if (pred(o)) { clearTimeout(timer); off(); resolve(o); } });
  });
}

test('API writes land in the file in place, hashed, and survive a restart', async () => {
  const { dir, path } = await fixture();
  try {
    const reg = await FileRegistry.open({ path, watch: false });
    const app = await reg.getApplication('app1');
    assert.ok(app?.metadata.uid, 'server-set fields filled in on load');
    const dev = await reg.createDevice({ metadata: { name: 'd1', application: 'app1' }, spec: { alias: ['serial'], authentication: { credentials: [{ pass: 'hunter2' }] } } });
    await reg.updateDevice({ metadata: { name: 's1', application: 'app1', labels: { room: 'kitchen' } }, spec: (await reg.getDevice('app1', 's1'))!.spec });
    await reg.setMembers('app1', { bob: { role: 'reader' } });
    const access = await reg.getAccess('app1');
    const outcome = await authenticate({ username: 'd1@app1', password: 'hunter2' }, reg, systemClock);
    assert.ok(outcome.ok, 'the hashed password authenticates');
    const wrong = await authenticate({ username: 'd1@app1', password: 'nope' }, reg, systemClock);
    assert.not.ok(wrong.ok);
    await reg.close();

    const text = await readFile(path, 'utf8');
    assert.not.match(text, 'hunter2');
    assert.match(text, '# my registry');
    assert.match(text, '# the app');
    assert.match(text, '# a sensor in the short form');
    assert.match(text, /^name: s1$/m, 'the short form stays while only metadata changed');
    assert.match(text, 'room: kitchen');

    const again = await FileRegistry.open({ path, watch: false });
    try {
      assert.equal(await again.getDevice('app1', 'd1'), dev);
      assert.equal(await again.getApplication('app1'), app);
      assert.equal(await again.getAccess('app1'), access);
      assert.is((await again.findDevice('app1', 'serial'))?.metadata.name, 'd1');
      assert.is((await again.getDevice('app1', 's1'))?.metadata.labels?.room, 'kitchen');
      assert.is(await readFile(path, 'utf8'), text, 'a restart does not rewrite a settled file');
      await again.deleteDevice('app1', 'd1');
      assert.not.match(await readFile(path, 'utf8'), 'name: d1');
    } finally { await again.close(); }
  } finally { await rm(dir, { recursive: true }); }
});

test('a hand edit is reported as its changes, bumps versions, and plain passwords in it are hashed in the file', async () => {
  const { dir, path } = await fixture();
  const reg = await FileRegistry.open({ path, debounceMs: 20 });
  const seen: RegistryChange[] = [];
  reg.onChanges((c) => { seen.push(...c); });
  try {
    const before = (await reg.getApplication('app1'))!;
    let next = nextReload(reg, (o) => o.status === 'applied');
    const edited = (await readFile(path, 'utf8')).replace('custom: { a: 1 }', 'custom: { a: 2 }').replace('{a: 1}', '{a: 2}')
      + '---\nkind: Device\nmetadata: {name: d2, application: app1}\nspec:\n  authentication:\n    credentials:\n      - pass: typed-by-hand\n';
    await writeFile(path, edited);
    await next;
    const after = (await reg.getApplication('app1'))!;
    assert.equal(after.spec, { custom: { a: 2 } });
    assert.is(after.metadata.generation, (before.metadata.generation ?? 0) + 1);
    assert.is.not(after.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.is(after.metadata.uid, before.metadata.uid);
    assert.equal(seen.map((c) => `${c.kind}:${c.device ?? ''}:${c.path}`), ['application::.spec.custom', 'device:d2:.']);
    const text = await readFile(path, 'utf8');
    assert.not.match(text, 'typed-by-hand');
    const d2 = await reg.getDevice('app1', 'd2');
    assert.ok((await authenticate({ username: 'd2@app1', password: 'typed-by-hand' }, reg, systemClock)).ok);
    // Removing a document removes the resource.
    next = nextReload(reg, (o) => o.status === 'applied');
    await writeFile(path, text.slice(0, text.lastIndexOf('---')));
    await next;
    assert.is(await reg.getDevice('app1', 'd2'), undefined);
    assert.equal(seen.slice(-1).map((c) => `${c.device}:${c.path}:${c.uid === d2?.metadata.uid}`), ['d2:.:true']);
  } finally { await reg.close(); await rm(dir, { recursive: true }); }
});

test('a write that the file could not load again is refused, nothing changes', async () => {
  const { dir, path } = await fixture();
  const reg = await FileRegistry.open({ path, watch: false });
  try {
    const text = await readFile(path, 'utf8');
    try {
      await reg.createDevice({ metadata: { name: 'bad', application: 'app1' }, spec: { authentication: { credentials: [{ pass: { md5: 'x' } } as never] } } });
      assert.unreachable('should refuse');
    } catch (err) {
      assert.ok(isMooringError(err, 'MOORING_INVALID_REQUEST'), String(err));
      assert.match((err as Error).message, 'spec.authentication.credentials[0].pass');
    }
    assert.is(await reg.getDevice('app1', 'bad'), undefined);
    assert.is(await readFile(path, 'utf8'), text);
    await reg.createDevice({ metadata: { name: 'good', application: 'app1' } });
    await reg.deleteApplication('app1');
    assert.equal(await reg.listApplications(), []);
    assert.match(await readFile(path, 'utf8'), /^# /, 'an emptied registry is a comment, not an empty file');
  } finally { await reg.close(); await rm(dir, { recursive: true }); }
});

test.run();
