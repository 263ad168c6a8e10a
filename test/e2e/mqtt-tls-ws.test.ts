// The TLS and WebSocket listeners end to end: X.509 client certificates and TLS-PSK with MQTT.js
// and mosquitto_pub, MQTT over WebSocket with MQTT.js, and plain HTTP on the WebSocket port.
// Each publishes to the gateway listening on real ports (0 = any) and checks the raw event on the
// bus (the full path to an application sink is the composition root's end-to-end test).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { createMqttGateway, type GatewayAddresses, type MqttGateway } from '../../connectors/mqtt/index.ts';
import { app, device, memoryRegistry } from '../helpers/memory-registry.ts';
import { RecordingBus } from '../helpers/mqtt-recording-bus.ts';
import { makeMqttPki, type MqttPki } from '../helpers/mqtt-pki.ts';
import { EventTypes } from '../../events/types.ts';

const run = promisify(execFile);
execFileSync('bash', ['scripts/ensure-mosquitto-clients.sh'], { stdio: 'inherit' });

const PSK = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

let pki: MqttPki;
let gw: MqttGateway;
let bus: RecordingBus;
let addr: GatewayAddresses;

test.before(async () => {
  pki = makeMqttPki();
  bus = new RecordingBus();
  const registry = memoryRegistry([
    app('app1', { trustAnchors: { anchors: [{ certificate: pki.anchor('app-ca') }] } }),
    device('app1', 'device1', { authentication: { credentials: [{ pass: 'hey' }] } }),
    device('app1', 'pskdev', { authentication: { credentials: [{ psk: { key: PSK.toString('base64') } }] } }),
  ]);
  gw = createMqttGateway({
    bus, registry,
    listeners: { port: 0, tlsPort: 0, wsPort: 0, host: '127.0.0.1', tls: { cert: pki.pem('server'), key: readKey('server') } },
  });
  addr = await gw.listen();
});

test.after(async () => {
  await gw.close();
  pki.cleanup();
});

function readKey(name: string): string {
  return execFileSync('cat', [pki.path(`${name}.key`)]).toString();
}

async function published(topic: string, n = 1): Promise<void> {
  const deadline = Date.now() + 5000;
  while (bus.ofType(EventTypes.publish).filter((e) => e.extensions.topic === topic).length < n) {
    if (Date.now() > deadline) throw new Error(`no publish on ${topic}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('all three listeners are up', () => {
  assert.ok(addr.mqtt && addr.mqtts && addr.ws);
});

test('TLS + X.509 client certificate (MQTT.js v5): authenticated as the certificate subject, publish reaches the bus', async () => {
  const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${addr.mqtts!.port}`, {
    protocolVersion: 5, ca: pki.pem('server-ca'), cert: pki.pem('device1'), key: readKey('device1'), reconnectPeriod: 0,
  });
  await c.publishAsync('x509', 'hello', { qos: 1 });
  await published('x509');
  const e = bus.ofType(EventTypes.publish).find((x) => x.extensions.topic === 'x509')!;
  assert.is(e.extensions.sender, 'device1');
  assert.is(e.extensions.application, 'app1');
  await c.endAsync();
});

test('TLS + X.509 client certificate with mosquitto_pub (v3.1.1)', async () => {
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(addr.mqtts!.port), '--cafile', pki.path('server-ca.pem'),
    '--cert', pki.path('device1.pem'), '--key', pki.path('device1.key'), '-V', 'mqttv311', '-q', '1', '-t', 'x509m', '-m', '{"a":1}'], { timeout: 10000 });
  await published('x509m');
});

test('TLS with username/password over TLS (no client certificate) works too', async () => {
  const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${addr.mqtts!.port}`, {
    protocolVersion: 4, ca: pki.pem('server-ca'), username: 'device1@app1', password: 'hey', reconnectPeriod: 0,
  });
  await c.publishAsync('tlspw', '1', { qos: 1 });
  await published('tlspw');
  await c.endAsync();
});

test('TLS-PSK with mosquitto_pub: identity device@app, key from the psk credential', async () => {
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(addr.mqtts!.port), '--psk', PSK.toString('hex'),
    '--psk-identity', 'pskdev@app1', '--tls-version', 'tlsv1.2', '-q', '1', '-t', 'psk', '-m', 'x'], { timeout: 10000 });
  await published('psk');
  assert.is(bus.ofType(EventTypes.publish).find((x) => x.extensions.topic === 'psk')!.extensions.sender, 'pskdev');
});

test('TLS-PSK with a wrong key fails the handshake', async () => {
  let failed = false;
  try {
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(addr.mqtts!.port), '--psk', 'deadbeef',
      '--psk-identity', 'pskdev@app1', '--tls-version', 'tlsv1.2', '-q', '1', '-t', 'pskbad', '-m', 'x'], { timeout: 10000 });
  } catch {
    failed = true;
  }
  assert.ok(failed);
});

test('WebSocket listener (subprotocol mqtt, any path) with MQTT.js: publish reaches the bus', async () => {
  const c = await mqtt.connectAsync(`ws://127.0.0.1:${addr.ws!.port}/any/path`, {
    protocolVersion: 5, username: 'device1@app1', password: 'hey', reconnectPeriod: 0,
  });
  await c.publishAsync('ws', '{"t":2}', { qos: 1 });
  await published('ws');
  await c.endAsync();
});

test('plain HTTP on the WebSocket port gets 404', async () => {
  const res = await fetch(`http://127.0.0.1:${addr.ws!.port}/mqtt`);
  assert.is(res.status, 404);
  await res.text();
});

test.run();
