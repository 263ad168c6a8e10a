// The TLS and WebSocket listeners carry a publish all the way to the application's HTTP sink:
// Mooring started as `npm start` composes it (registry file, embedded broker, knative/ Triggers,
// normalize, content-type, push Trigger), a device connects over TLS with an X.509 client
// certificate and over WebSocket with a password, and the app receives Drogue's device events.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { makeMqttPki, type MqttPki } from '../helpers/mqtt-pki.ts';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { startRecordingApp, waitFor, type RecordingApp, type Received } from '../helpers/http-app.ts';

let pki: MqttPki;
let app: RecordingApp;
let mooring: Mooring;

function deviceEvent(channel: string): Received | undefined {
  return app.received.find((d) => d.headers['ce-type'] === 'io.drogue.event.v1' && d.headers['ce-subject'] === channel);
}

async function publishOnce(client: mqtt.MqttClient, topic: string, payload: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.publishAsync(topic, payload, { qos: 1 });
  await client.endAsync();
}

test.before(async () => {
  pki = makeMqttPki();
  app = await startRecordingApp();
  const url = `${app.url}/events`;
  const registry = pki.path('registry.yaml');
  writeFileSync(registry, [
    `kind: Application\nmetadata:\n  name: app1\nspec:\n  knative:\n    endpoint:\n      url: ${url}\n`
      + `  trustAnchors:\n    anchors:\n      - certificate: ${pki.anchor('app-ca')}\n`,
    'kind: Device\nmetadata:\n  name: device1\n  application: app1\nspec:\n  authentication:\n    credentials:\n      - pass: hey\n',
  ].join('---\n'));
  mooring = await startMooring(configFromEnv({}, {
    registryPath: registry, dataDir: pki.dir, host: '127.0.0.1',
    mqttPort: 0, mqttsPort: 0, httpsPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0,
    tlsCert: pki.path('server.pem'), tlsKey: pki.path('server.key'),
  }), { logger: silentLogger });
});

test.after(async () => {
  await mooring?.close();
  await app?.close();
  pki.cleanup();
});

test('TLS listener: an X.509-authenticated device\'s publish reaches the application sink', async () => {
  assert.ok(mooring.mqtt.mqtts, 'the TLS listener is up when a certificate is configured');
  const client = mqtt.connect({
    protocol: 'mqtts', host: '127.0.0.1', port: mooring.mqtt.mqtts!.port, protocolVersion: 5, reconnectPeriod: 0,
    ca: pki.pem('server-ca'), cert: pki.pem('device1'), key: readFileSync(pki.path('device1.key'), 'utf8'),
    servername: 'localhost',
  });
  await publishOnce(client, 'tls-channel', '{"over":"tls"}');
  const got = await waitFor('the TLS event at the sink', () => deviceEvent('tls-channel'));
  assert.is(got.headers['ce-application'], 'app1');
  assert.is(got.headers['ce-device'], 'device1');
  assert.is(got.headers['ce-source'], 'drogue://app1/device1');
  assert.is(got.headers['content-type'], 'application/json');
  assert.is(got.body, '{"over":"tls"}');
});

test('WebSocket listener: a password-authenticated device\'s publish reaches the application sink', async () => {
  const client = mqtt.connect(`ws://127.0.0.1:${mooring.mqtt.ws!.port}/mqtt`, {
    username: 'device1@app1', password: 'hey', protocolVersion: 4, reconnectPeriod: 0,
  });
  await publishOnce(client, 'ws-channel', 'plain bytes');
  const got = await waitFor('the WS event at the sink', () => deviceEvent('ws-channel'));
  assert.is(got.headers['ce-device'], 'device1');
  assert.is(got.headers['ce-sender'], 'device1');
  assert.is(got.headers['content-type'], 'application/octet-stream');
  assert.is(got.body, 'plain bytes');
  const connection = app.received.filter((d) => d.headers['ce-type'] === 'io.drogue.connection.v1');
  assert.ok(connection.length >= 2, 'connection events reach the app too');
});

test.run();
