// The integrations with OpenID JWTs from a real provider (test/api/oidc-provider.ts): the MQTT
// integration takes a JWT as the username or as the password; the WebSocket integration as
// `?token=` or a Bearer header, closes with 1008 "JWT token expired" once the token has expired,
// and keeps a connection whose RefreshAccessToken was a valid token.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import mqtt from 'mqtt';
import { generate } from 'mqtt-packet';
import WebSocket from 'ws';
import { InMemoryEventBus } from '../../../connectors/broker/memory.ts';
import { StreamSource } from '../../../connectors/stream/source.ts';
import { createMqttIntegration, type MqttIntegration } from '../../../connectors/mqtt-integration/index.ts';
import { startWsIntegration, type WsIntegration } from '../../../connectors/ws-integration/server.ts';
import { applicationAuth, MemoryTokenStore } from '../../../api/index.ts';
import { Authenticator } from '../../../api/auth/authn.ts';
import { OidcVerifier } from '../../../api/auth/oidc.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';
import { memoryRegistry } from '../../helpers/memory-registry.ts';
import { startIssuer, type TestIssuer } from '../../api/oidc-provider.ts';

let issuer: TestIssuer;
let bus: InMemoryEventBus;
let source: StreamSource;
let integration: MqttIntegration;
let port: number;
let ws: WsIntegration;

test.before(async () => {
  issuer = await startIssuer();
  bus = new InMemoryEventBus();
  source = new StreamSource({ bus, broker: { namespace: 'default', broker: 'default' }, logger: silentLogger });
  const authn = new Authenticator({ tokens: new MemoryTokenStore(), oidc: new OidcVerifier({ issuer: issuer.issuer, clientId: 'drogue' }), logger: silentLogger });
  const auth = applicationAuth(authn, {
    getAccess: async (app: string) => (app === 'app1' ? { owner: 'alice', members: {}, resourceVersion: '1' } : undefined),
  });
  integration = createMqttIntegration({ bus, registry: memoryRegistry([]), source, auth, listeners: { host: '127.0.0.1', port: 0, wsPort: false } });
  port = (await integration.listen()).mqtt!.port;
  ws = await startWsIntegration({ source, auth, logger: silentLogger, port: 0, host: '127.0.0.1', expiryCheckMs: 200 });
});

test.after(async () => {
  await integration.close();
  await ws.close();
  await source.close();
  await bus.close();
  await issuer.close();
});

const jwtOf = (sub: string, expiresIn: string | number = '5m') => issuer.sign({ sub, aud: 'drogue' }, { expiresIn });

async function subackOf(options: mqtt.IClientOptions): Promise<number[]> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0, ...options });
  try {
    return await new Promise((resolve) => {
      c.on('packetreceive', (p) => { if (p.cmd === 'suback') resolve((p as { granted: number[] }).granted); });
      c.subscribe('app/app1', { qos: 1 }, () => undefined);
    });
  } finally {
    c.end(true);
  }
}

test('MQTT integration: a JWT as the username or as the password; the owner may read, another user may not; a bad JWT is 0x86', async () => {
  assert.equal(await subackOf({ username: await jwtOf('alice') }), [1]);
  // mqtt-packet sends a password only with a username: an empty one stands for none.
  assert.equal(await subackOf({ username: '', password: await jwtOf('alice') }), [1]);
  assert.equal(await subackOf({ username: await jwtOf('mallory') }), [0x87]);
  const bad = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0, username: `${await jwtOf('alice')}x` }).catch((e: { code?: number }) => e);
  assert.is((bad as { code?: number }).code, 0x86);
});

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const c = new WebSocket(url, { headers });
    c.once('open', () => resolve(c));
    c.once('unexpected-response', (_q, res) => reject(new Error(`status ${res.statusCode}`)));
    c.once('error', reject);
  });
}

test('WebSocket integration: ?token= and Bearer; an expired JWT closes with 1008; a refreshed one keeps the connection', async () => {
  const base = `ws://127.0.0.1:${ws.address.port}/app1`;
  const bearer = await open(base, { authorization: `Bearer ${await jwtOf('alice')}` });
  const short = await open(`${base}?token=${await jwtOf('alice', '2s')}`);
  const refreshed = await open(`${base}?token=${await jwtOf('alice', '2s')}`);
  refreshed.send(JSON.stringify({ RefreshAccessToken: await jwtOf('alice') }));
  const closed = await new Promise<{ code: number; reason: string }>((resolve) => short.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  assert.equal(closed, { code: 1008, reason: 'JWT token expired' });
  await new Promise((r) => setTimeout(r, 500)); // past its first token's expiry and an expiry check
  assert.is(refreshed.readyState, WebSocket.OPEN);
  assert.is(bearer.readyState, WebSocket.OPEN);
  bearer.close();
  refreshed.close();
});

// The MUSTs of connectors/mqtt/validate.ts bind the integration's sessions too (they are checked in
// the shared session, before either dispatcher): a SUBSCRIBE with packet identifier 0 [MQTT-2.3.1-1].
test('MQTT integration: a SUBSCRIBE with packet identifier 0 gets DISCONNECT 0x82 and the connection closes', async () => {
  const sock = net.connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  sock.on('data', (b) => received.push(b));
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  await new Promise<void>((resolve) => sock.on('connect', () => resolve()));
  sock.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: 'zero-id', keepalive: 30, username: await jwtOf('alice') }));
  // v5 SUBSCRIBE: packet identifier 0, no properties, filter app/app1 at QoS 1.
  const filter = Buffer.from('app/app1');
  sock.write(Buffer.concat([Buffer.from([0x82, 2 + 1 + 2 + filter.length + 1, 0, 0, 0, 0, filter.length]), filter, Buffer.from([1])]));
  const timer = setTimeout(() => sock.destroy(), 10_000);
  await closed;
  clearTimeout(timer);
  const bytes = Buffer.concat(received);
  // CONNACK (0x20 …), then DISCONNECT (0xe0) with reason 0x82; no SUBACK.
  const disconnectAt = bytes.indexOf(0xe0, 2);
  console.log(`[integration-packet-id-0] bytes=${bytes.length} disconnect=0x${bytes[disconnectAt + 2]?.toString(16)}`);
  assert.is(bytes[0], 0x20);
  assert.ok(disconnectAt > 0, 'a DISCONNECT was sent');
  assert.is(bytes[disconnectAt + 2], 0x82);
});

test.run();
