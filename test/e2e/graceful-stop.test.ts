// Issue 8 part 7: nothing acknowledged is dropped on a graceful stop. Mooring in embedded mode
// (`node --import tsx cli/main.ts`, as `npm start`) with the application's endpoint answering
// 503: five QoS 1 publishes are PUBACKed, SIGTERM drains for MOORING_STOP_DRAIN_MS and spools the
// rest to MOORING_DATA_DIR/spool; a second start with the endpoint up delivers all five.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { readRecords, spoolFiles, writeRecords } from '../../connectors/knative/spool.ts';
import { AppSink, freePort, waitUntil, writeRegistry } from '../helpers/faults.ts';
import { startChild, type Child } from '../helpers/process.ts';

const MAIN = new URL('../../cli/main.ts', import.meta.url).pathname;
const COUNT = 5;

let dir: string;
let registryPath: string;
const children: Child[] = [];
const sink = new AppSink();

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-graceful-stop-'));
  await sink.up();
  registryPath = join(dir, 'registry.yaml');
  writeRegistry(registryPath, [{ name: 'app1', url: sink.url }], [{ app: 'app1', name: 'dev1', password: 'secret' }]);
});

test.after(async () => {
  for (const c of children) await c.stop('SIGKILL');
  await sink.down();
  rmSync(dir, { recursive: true, force: true });
});

async function startMooring(mqttPort: number): Promise<Child> {
  const child = startChild(process.execPath, ['--import', 'tsx', MAIN], {
    MOORING_REGISTRY: registryPath, MOORING_DATA_DIR: dir, MOORING_HOST: '127.0.0.1',
    MOORING_MQTT_PORT: String(mqttPort), MOORING_MQTT_WS_PORT: '0', MOORING_HTTP_PORT: '0', MOORING_INGRESS_PORT: '0',
    MOORING_DEMO_SINK_PORT: '0', MOORING_LOG_LEVEL: 'info', MOORING_STOP_DRAIN_MS: '2000',
  });
  children.push(child);
  await child.waitFor(/Mooring is running/, 60_000);
  return child;
}

const spoolDir = (): string => join(dir, 'spool');

/** The spool's own log lines (pino JSON on stderr), for the record. */
const spoolLog = (child: Child): string => child.output().split('\n').filter((l) => l.includes('"component":"spool"')).join('\n');

test('SIGTERM with the endpoint down spools the PUBACKed events; the next start delivers all of them', async () => {
  // First run: the application's endpoint answers 503.
  sink.mode = 'unavailable';
  const port1 = await freePort();
  const first = await startMooring(port1);
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port1}`, {
    username: 'dev1@app1', password: 'secret', protocolVersion: 4, reconnectPeriod: 0, clean: true,
  });
  let acked = 0;
  for (let n = 1; n <= COUNT; n++) {
    await client.publishAsync('temperature', JSON.stringify({ d: 'dev1', n }), { qos: 1 });
    acked++;
  }
  assert.ok(await waitUntil(() => sink.refused > 0, 15_000), 'the push sink tried the endpoint');
  await client.endAsync();
  const code1 = await first.stop('SIGTERM');
  const files = await spoolFiles(spoolDir());
  const records = (await Promise.all(files.map(readRecords))).flat();
  const spooledEvents = records.filter((r) => r.event.type === 'io.drogue.event.v1');
  console.log(`[graceful-stop] first run: acked=${acked} refused=${sink.refused} exit=${code1} spoolFiles=${files.length} `
    + `spooled=${records.length} (device events ${spooledEvents.length})`);
  console.log(spoolLog(first));
  assert.is(code1, 0, first.output());
  assert.match(first.output(), /undelivered events spooled/);
  assert.is(spooledEvents.length, COUNT);
  assert.equal(spooledEvents.map((r) => JSON.parse(Buffer.from(r.event.data!).toString()).n), [1, 2, 3, 4, 5]);
  assert.ok(spooledEvents.every((r) => r.trigger === 'default/app-app1'), records.map((r) => r.trigger).join());

  // Second run: the endpoint is up; the spool is delivered before anything new, then removed.
  sink.mode = 'ok';
  const second = await startMooring(await freePort());
  const all = await waitUntil(() => [...Array(COUNT).keys()].every((i) => sink.delivered.has(`dev1/${i + 1}`)), 30_000);
  const delivered = [...Array(COUNT).keys()].filter((i) => sink.delivered.has(`dev1/${i + 1}`)).length;
  const duplicates = [...sink.delivered.values()].reduce((s, c) => s + c - 1, 0);
  const left = await spoolFiles(spoolDir());
  console.log(`[graceful-stop] second run: delivered=${delivered} lost=${COUNT - delivered} duplicates=${duplicates} `
    + `spoolFilesLeft=${left.length} dir=${readdirSync(spoolDir()).join(',') || '(empty)'}`);
  console.log(spoolLog(second));
  assert.ok(all, second.output());
  assert.is(COUNT - delivered, 0);
  assert.equal(left, []);
  assert.match(second.output(), /spooled events restored/);
  const code2 = await second.stop('SIGINT');
  assert.is(code2, 0, second.output());
});

test('a spooled event whose Trigger no longer exists is kept in an orphaned file and logged, not dropped', async () => {
  const event = {
    specversion: '1.0' as const, id: 'gone-1', source: 'drogue://gone/dev1', type: 'io.drogue.event.v1',
    data: Buffer.from([0, 255]), extensions: { application: 'gone' },
  };
  const sent = { trigger: 'default/app-gone', event };
  await writeRecords(spoolDir(), [sent]);
  const child = await startMooring(await freePort());
  const orphanFiles = readdirSync(spoolDir()).filter((n) => n.startsWith('orphaned-'));
  const orphans = (await Promise.all(orphanFiles.map((n) => readRecords(join(spoolDir(), n))))).flat();
  console.log(`[graceful-stop] orphan run: spoolFilesLeft=${(await spoolFiles(spoolDir())).length} orphanFiles=${orphanFiles.length} orphaned=${orphans.length}`);
  console.log(spoolLog(child));
  assert.equal(await spoolFiles(spoolDir()), []);
  assert.equal(orphans.map((o) => [o.trigger, o.event.id, Array.from(o.event.data!)]), [['default/app-gone', 'gone-1', [0, 255]]]);
  assert.match(child.output(), /triggers that no longer exist/);
  assert.is(await child.stop('SIGTERM'), 0, child.output());
});

test.run();
