// End to end through the embedded mode as `npm start` wires it: a raw publish enters the broker
// ingress, the knative/ Triggers run normalize and content-type, the application's push Trigger
// delivers it to a local HTTP app with Drogue Cloud's exact attributes; Knative's delivery
// semantics (retry on 503, dead letter on 400) hold on the way.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { publishEvent } from '../../events/constructors.ts';
import { encodeHttpBinary } from '../../events/bindings/http.ts';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { startRecordingApp, waitFor, type RecordingApp } from '../helpers/http-app.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let dir: string;
let app: RecordingApp;
let mooring: Mooring;
/** Answers per path, consumed in order; the last one repeats. */
const script = new Map<string, number[]>([['/ok', [200]], ['/flaky', [503, 503, 200]], ['/bad', [400]]]);

function ingressPost(headers: Record<string, string>, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(mooring.ingress.url, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function rawPublish(application: string, sender: string, topic: string, payload: string) {
  return encodeHttpBinary(publishEvent({
    id: randomUUID(), time: new Date().toISOString(), application, sender, topic,
    payload: Buffer.from(payload), qos: 1, endpoint: 'mqtt',
  }));
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-e2e-'));
  app = await startRecordingApp((path, n) => {
    const answers = script.get(path) ?? [404];
    return answers[Math.min(n, answers.length - 1)] as number;
  });
  const appUrl = app.url;

  const registryPath = join(dir, 'registry.yaml');
  const application = (name: string, path: string) =>
    `kind: Application\nmetadata:\n  name: ${name}\nspec:\n  knative:\n    endpoint:\n      url: ${appUrl}${path}\n`;
  const device = (appName: string, name: string, extra = '') =>
    `kind: Device\nmetadata:\n  name: ${name}\n  application: ${appName}\nspec:\n  authentication:\n    credentials:\n      - pass: secret\n${extra}`;
  writeFileSync(registryPath, [
    application('app1', '/ok'),
    device('app1', 'gw'),
    device('app1', 'my device', '  gatewaySelector:\n    matchNames: [gw]\n'),
    application('flaky', '/flaky'),
    device('flaky', 'd1'),
    application('refusing', '/bad'),
    device('refusing', 'd1'),
  ].join('---\n'));

  const config = configFromEnv({}, {
    registryPath, dataDir: dir, host: '127.0.0.1',
    mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, demoSinkPort: 0,
  });
  mooring = await startMooring(config, { logger: silentLogger });
});

test.after(async () => {
  await mooring?.close();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a raw publish reaches the application as io.drogue.event.v1 with Drogue Cloud\'s exact attributes', async () => {
  const { headers, body } = rawPublish('app1', 'gw', 'temperature/my device', '{"temp":21.5}');
  assert.is(await ingressPost(headers, body), 202);

  const got = await waitFor('the event at /ok', () => app.received.find((r) => r.path === '/ok'));
  const h = got.headers;
  assert.is(h['ce-specversion'], '1.0');
  assert.is(h['ce-type'], 'io.drogue.event.v1');
  assert.ok(UUID.test(String(h['ce-id'])), `id is a uuid: ${h['ce-id']}`);
  assert.is(h['ce-source'], 'drogue://app1/my%2520device', 'source percent-encodes the device (and the header encodes the %)');
  assert.is(h['ce-subject'], 'temperature');
  assert.is(h['ce-application'], 'app1');
  assert.is(h['ce-device'], 'my device'.replace(' ', '%20'), 'device header value is percent-encoded per the HTTP binding');
  assert.is(h['ce-sender'], 'gw');
  assert.is(h['ce-instance'], 'drogue');
  assert.is(h['ce-partitionkey'], 'app1/gw');
  assert.ok(!Number.isNaN(Date.parse(decodeURIComponent(String(h['ce-time'])))), 'time is a timestamp');
  assert.is(h['content-type'], 'application/json', 'content-type sniffed from the JSON payload');
  assert.is(got.body, '{"temp":21.5}');
  const ceHeaders = Object.keys(h).filter((k) => k.startsWith('ce-')).sort();
  assert.equal(ceHeaders, [
    'ce-application', 'ce-device', 'ce-deviceuid', 'ce-id', 'ce-instance', 'ce-partitionkey', 'ce-sender',
    'ce-source', 'ce-specversion', 'ce-subject', 'ce-time', 'ce-type',
  ], 'exactly Drogue\'s attributes: no publish metadata, no pipeline stage');
  // The registry gave the hand-written device a uid (written back into the file); the target's
  // uid is what normalize adds for gateway traffic (the published event carried none).
  assert.is(h['ce-deviceuid'], (await mooring.registry.getDevice('app1', 'my device'))!.metadata.uid);
});

test('an app answering 503 twice then 200 receives the event three times and it is delivered once', async () => {
  const { headers, body } = rawPublish('flaky', 'd1', 'state', 'on');
  assert.is(await ingressPost(headers, body), 202);
  await waitFor('the third attempt', () => app.received.filter((r) => r.path === '/flaky').length >= 3);
  await new Promise((r) => setTimeout(r, 1500)); // room for a wrong fourth attempt to show up
  const attempts = app.received.filter((r) => r.path === '/flaky');
  assert.equal(attempts.map((a) => a.status), [503, 503, 200]);
  assert.is(new Set(attempts.map((a) => a.headers['ce-id'])).size, 1, 'the same event each time');
  assert.is(attempts[0]?.headers['content-type'], 'application/octet-stream');
  assert.is(mooring.deadLetters.events.filter((e) => e.extensions.application === 'flaky').length, 0);
});

test('an app answering 400 produces one dead-letter event', async () => {
  const { headers, body } = rawPublish('refusing', 'd1', 'state', 'off');
  assert.is(await ingressPost(headers, body), 202);
  const dead = await waitFor('the dead letter', () => mooring.deadLetters.events.find((e) => e.extensions.application === 'refusing'));
  await new Promise((r) => setTimeout(r, 500));
  assert.is(app.received.filter((r) => r.path === '/bad').length, 1, 'a 400 is not retried');
  assert.is(mooring.deadLetters.events.filter((e) => e.extensions.application === 'refusing').length, 1);
  assert.is(dead.type, 'io.drogue.event.v1');
  assert.is(dead.extensions.knativeerrorcode, 400);
  assert.ok(String(dead.extensions.knativeerrordest).includes('/bad'));
});

test('the ingress answers an invalid CloudEvent with 400 and a JSON error', async () => {
  assert.is(await ingressPost({ 'ce-specversion': '1.0', 'content-type': 'text/plain' }, Buffer.from('x')), 400);
});

test.run();
