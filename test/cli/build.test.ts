// `npm run build` (scripts/build.sh): the runtime sources compile to JavaScript whose relative
// imports name .js files, and the image's entry point (cli/serve.js) runs on plain `node`, no tsx:
// as the gateway it answers an MQTT CONNECT (CONNACK 0, and 4 for a wrong password), as a
// function it serves Knative's health probes, and an unknown part is refused with the error code.

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startChild, freePort, type Child } from '../helpers/process.ts';
import { connackCode } from '../helpers/connack.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Under the checkout, so that node finds node_modules and package.json ("type": "module") above it.
const OUT = join(ROOT, '.cache', `build-test-${process.pid}`);
const children: Child[] = [];
let dataDir: string;

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mooring-build-'));
  const started = Date.now();
  await run('bash', [join(ROOT, 'scripts/build.sh'), OUT], { cwd: ROOT, maxBuffer: 1 << 24 });
  console.log(`build: ${Date.now() - started} ms`);
});

test.after(async () => {
  for (const c of children) await c.stop('SIGKILL');
  rmSync(OUT, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => join(e.parentPath, e.name));
}

test('every relative import of the output names a .js file, and the assets lie beside it', () => {
  const js = files(OUT);
  let imports = 0;
  const wrong: string[] = [];
  for (const file of js) {
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      imports++;
      if (!m[1]!.endsWith('.js')) wrong.push(`${file}: ${m[1]}`);
    }
  }
  console.log(`build: ${js.length} files, ${imports} relative imports, ${wrong.length} not .js`);
  assert.ok(js.length > 100 && imports > 300);
  assert.equal(wrong, []);
  for (const asset of ['knative/triggers.yaml', 'knative/templates/app-trigger.yaml', 'events/schemas/cloudevent.json', 'docs/openapi.yaml', 'functions/authz/hash-worker.js']) {
    assert.ok(readdirSync(join(OUT, asset, '..')).includes(asset.split('/').pop()!), asset);
  }
});

test('plain node runs the built gateway: CONNACK 0 for the demo device, 4 for a wrong password', async () => {
  const port = await freePort();
  const child = startChild(process.execPath, [join(OUT, 'cli/serve.js'), 'gateway'], {
    MOORING_DATA_DIR: dataDir, MOORING_HOST: '127.0.0.1', MOORING_MQTT_PORT: String(port), MOORING_MQTT_WS_PORT: '0',
    MOORING_INGRESS_PORT: '0', MOORING_DEMO_SINK_PORT: '0', NODE_OPTIONS: '',
  });
  children.push(child);
  await child.waitFor(/MQTT\s+tcp:\/\/localhost:\d+/, 60_000);
  // Only the gateway's listeners: no API, HTTP endpoint or integrations in this process.
  assert.not.match(child.output(), /management API|HTTP devices|integration/);
  const ok = await connackCode(port, 'demo-device@demo-app', 'demo-secret');
  const refused = await connackCode(port, 'demo-device@demo-app', 'wrong');
  console.log(`built gateway: CONNACK ${ok} (right password), ${refused} (wrong password)`);
  assert.is(ok, 0);
  assert.is(refused, 4); // bad user name or password
  assert.is(await child.stop('SIGTERM'), 0);
});

test('plain node runs a built function: /health/readiness answers 200', async () => {
  const port = await freePort();
  const child = startChild(process.execPath, [join(OUT, 'cli/serve.js'), 'function'], {
    MOORING_FUNCTION: 'normalize', PORT: String(port), MOORING_DATA_DIR: dataDir, NODE_OPTIONS: '',
  });
  children.push(child);
  let status = 0;
  for (let i = 0; i < 600 && status !== 200; i++) {
    status = await fetch(`http://127.0.0.1:${port}/health/readiness`).then((r) => r.status, () => 0);
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`built function normalize: readiness ${status}`);
  assert.is(status, 200);
  await child.stop('SIGTERM');
});

test('an unknown part is refused: exit 1, MOORING_INVALID_CONFIG', async () => {
  const child = startChild(process.execPath, [join(OUT, 'cli/serve.js'), 'gatewy'], { MOORING_DATA_DIR: dataDir, NODE_OPTIONS: '' });
  children.push(child);
  const code = await new Promise<number | null>((resolve) => child.proc.once('exit', resolve));
  assert.is(code, 1);
  assert.match(child.output(), /MOORING_INVALID_CONFIG: unknown part "gatewy"/);
});

test.run();
