import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEMO_APPLICATION, DEMO_DEVICE, DEMO_GATEWAY_CHILD, DEMO_PASSWORD, FileRegistry, RegistryValidationError, type ReloadOutcome,
} from '../../../connectors/registry/index.ts';
import type { Logger } from '../../../functions/ports/runtime.ts';
import { verifyPassword } from '../../../functions/authz/passwords.ts';

const LONG = `
kind: Application
metadata: {name: app1, labels: {tier: 1}}
spec:
  knative: {endpoint: {url: "http://localhost:9999/events", headers: {x-token: abc}, timeout: 5s}}
---
kind: Device
metadata: {name: dev1, application: app1}
spec:
  alias: [serial-42]
  authentication:
    credentials:
      - pass: secret
      - user: {username: alice, password: {plain: pw}, unique: true}
      - user: {username: bob, password: pw}
`;

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mooring-registry-'));
}

function recordingLogger(lines: string[]): Logger {
  const log = (obj: object | string, msg?: string) => { lines.push(typeof obj === 'string' ? obj : msg ?? ''); };
  const l: Logger = { debug: log, info: log, warn: log, error: log, child: () => l };
  return l;
}

/** Resolves with the next reload outcome, or rejects after a bound (no timing assertion). */
function nextReload(reg: FileRegistry, pred: (o: ReloadOutcome) => boolean = () => true): Promise<ReloadOutcome> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error('no reload within 5 s')); }, 5000);
    const off = reg.onReload((o) => {
      if (!pred(o)) return;
      clearTimeout(timer);
      off();
      resolve(o);
    });
  });
}

test('without a path a demo file is created in the data dir and loaded', async () => {
  const dir = await tempDir();
  const reg = await FileRegistry.open({ dataDir: dir, demoEndpoint: 'http://localhost:8081/', watch: false });
  try {
    assert.ok(reg.createdDemo);
    assert.is(reg.path, join(dir, 'registry.yaml'));
    const app = await reg.getApplication(DEMO_APPLICATION);
    assert.is(app?.spec.knative?.endpoint?.url, 'http://localhost:8081/');
    const dev = await reg.getDevice(DEMO_APPLICATION, DEMO_DEVICE);
    // The plain demo password is hashed, in force and in the file.
    const [cred] = dev?.spec.authentication?.credentials ?? [];
    assert.ok(cred && 'pass' in cred && await verifyPassword(cred.pass, DEMO_PASSWORD));
    assert.match(JSON.stringify(cred), '"sha512":"$6$');
    const text = await readFile(join(dir, 'registry.yaml'), 'utf8');
    assert.not.match(text, DEMO_PASSWORD);
    assert.match(text, 'sha512: $6$');
    assert.match(text, '# The short form from the Drogue documentation', 'comments stay');
    const child = await reg.getDevice(DEMO_APPLICATION, DEMO_GATEWAY_CHILD);
    assert.equal(child?.spec.gatewaySelector?.matchNames, [DEMO_DEVICE]);
  } finally { await reg.close(); }
  // A second start keeps the (possibly edited) file.
  const again = await FileRegistry.open({ dataDir: dir, watch: false });
  assert.not.ok(again.createdDemo);
  await again.close();
  await rm(dir, { recursive: true });
});

test('the path names the file; long form with lookups by alias and unique username', async () => {
  const dir = await tempDir();
  const path = join(dir, 'r.yaml');
  await writeFile(path, LONG);
  const reg = await FileRegistry.open({ path, watch: false });
  try {
    const app = await reg.getApplication('app1');
    assert.equal(app?.metadata.labels, { tier: '1' });
    assert.equal(app?.spec.knative?.endpoint, { url: 'http://localhost:9999/events', headers: { 'x-token': 'abc' }, timeout: '5s' });
    assert.is((await reg.findDevice('app1', 'dev1'))?.metadata.name, 'dev1');
    assert.is((await reg.findDevice('app1', 'serial-42'))?.metadata.name, 'dev1');
    assert.is((await reg.findDevice('app1', 'alice'))?.metadata.name, 'dev1');
    assert.is(await reg.findDevice('app1', 'bob'), undefined, 'non-unique usernames do not name a device');
    assert.is(await reg.getDevice('app1', 'serial-42'), undefined, 'getDevice takes the exact name only');
    assert.is(await reg.findDevice('other', 'dev1'), undefined);
    assert.is((await reg.listDevices('app1')).length, 1);
    assert.is((await reg.listApplications()).length, 1);
    assert.ok(Object.isFrozen(app?.spec), 'resources are frozen');
  } finally { await reg.close(); await rm(dir, { recursive: true }); }
});

test('an invalid file refuses to start, naming document, resource and field', async () => {
  const dir = await tempDir();
  const path = join(dir, 'r.yaml');
  await writeFile(path, `${LONG}---
kind: Device
metadata: {name: dev2, application: app1}
spec:
  authentication:
    credentials:
      - pass: {md5: x}
`);
  try {
    await FileRegistry.open({ path, watch: false });
    assert.unreachable('should refuse');
  } catch (err) {
    const msg = (err as Error).message;
    assert.match(msg, 'document 3 (Device app1/dev2): spec.authentication.credentials[0].pass');
    assert.is((err as { code?: string }).code, 'MOORING_INVALID_CONFIG');
  } finally { await rm(dir, { recursive: true }); }
});

test('edits take effect without restart; an invalid edit is refused and the last good stays', async () => {
  const dir = await tempDir();
  const path = join(dir, 'r.yaml');
  await writeFile(path, LONG);
  const lines: string[] = [];
  const reg = await FileRegistry.open({ path, logger: recordingLogger(lines), debounceMs: 20 });
  let changes = 0;
  reg.onChange(() => { changes++; });
  try {
    // A valid edit, written in place.
    let next = nextReload(reg, (o) => o.status === 'applied');
    await writeFile(path, LONG.replace('serial-42', 'serial-43'));
    assert.is((await next).status, 'applied');
    assert.is((await reg.findDevice('app1', 'serial-43'))?.metadata.name, 'dev1');
    assert.is(await reg.findDevice('app1', 'serial-42'), undefined);
    assert.is(changes, 1);

    // An invalid edit: refused, logged, old content in force, no change notification.
    next = nextReload(reg, (o) => o.status === 'refused' && o.error instanceof RegistryValidationError);
    await writeFile(path, LONG.replace('serial-42', 'serial-44').replace('unique: true', 'unique: yes please'));
    const refused = await next;
    assert.is(refused.status, 'refused');
    assert.ok(lines.some((l) => l.includes('document 2 (Device app1/dev1): spec.authentication.credentials[1].user.unique')), lines.join('\n'));
    assert.is((await reg.findDevice('app1', 'serial-43'))?.metadata.name, 'dev1');
    assert.is(changes, 1);

    // An editor that saves by renaming a new file over the old one.
    next = nextReload(reg, (o) => o.status === 'applied');
    await writeFile(join(dir, 'r.yaml.swp'), LONG.replace('serial-42', 'serial-45'));
    await rename(join(dir, 'r.yaml.swp'), path);
    assert.is((await next).status, 'applied');
    assert.is((await reg.findDevice('app1', 'serial-45'))?.metadata.name, 'dev1');
    assert.is(changes, 2);
    assert.match(await readFile(path, 'utf8'), 'serial-45');
  } finally { await reg.close(); await rm(dir, { recursive: true }); }
});

test('a deleted or emptied file keeps the last good registry', async () => {
  const dir = await tempDir();
  const path = join(dir, 'r.yaml');
  await writeFile(path, LONG);
  const reg = await FileRegistry.open({ path, watch: false });
  try {
    await writeFile(path, '');
    assert.is((await reg.reload()).status, 'refused');
    assert.ok(await reg.getDevice('app1', 'dev1'));
    await rm(path);
    const outcome = await reg.reload();
    assert.is(outcome.status, 'refused');
    assert.ok(await reg.getDevice('app1', 'dev1'));
  } finally { await reg.close(); await rm(dir, { recursive: true }); }
});

test('YAML syntax errors name the document and line', async () => {
  const dir = await tempDir();
  const path = join(dir, 'r.yaml');
  await writeFile(path, `${LONG}---\nkind: Device\nmetadata: {name: [unclosed\n`);
  try {
    await FileRegistry.open({ path, watch: false });
    assert.unreachable('should refuse');
  } catch (err) {
    assert.match((err as Error).message, /document 3: YAML: .*line/);
  } finally { await rm(dir, { recursive: true }); }
});

test.run();
