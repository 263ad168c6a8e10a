// The WebSocket integration's connection rules with Drogue's timing shortened: pings carry
// `PING`, a client that answers none is closed after the silence limit, one that does stays; a
// RefreshAccessToken that does not validate closes with 1011. Real parts: the in-memory broker,
// the stream source, the API's authenticator on a token store, the ws client.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { InMemoryEventBus } from '../../../connectors/broker/memory.ts';
import { StreamSource } from '../../../connectors/stream/source.ts';
import { startWsIntegration, type WsIntegration } from '../../../connectors/ws-integration/server.ts';
import { applicationAuth, MemoryTokenStore } from '../../../api/index.ts';
import { Authenticator } from '../../../api/auth/authn.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';

let bus: InMemoryEventBus;
let source: StreamSource;
let ws: WsIntegration;

test.before(async () => {
  bus = new InMemoryEventBus();
  source = new StreamSource({ bus, broker: { namespace: 'default', broker: 'default' }, logger: silentLogger });
  const auth = applicationAuth(new Authenticator({ tokens: new MemoryTokenStore(), logger: silentLogger }), {
    // An application without an owner: anonymous callers may read it.
    getAccess: async (app: string) => (app === 'app1' ? { members: {}, resourceVersion: '1' } : undefined),
  });
  ws = await startWsIntegration({ source, auth, logger: silentLogger, port: 0, host: '127.0.0.1', pingMs: 100, silenceMs: 400 });
});

test.after(async () => {
  await ws.close();
  await source.close();
  await bus.close();
});

const url = () => `ws://127.0.0.1:${ws.address.port}/app1`;

function connect(options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const c = new WebSocket(url(), options);
    c.once('open', () => resolve(c));
    c.once('error', reject);
  });
}

test('pings carry PING; a client that answers none is closed after the silence limit, one that answers stays open', async () => {
  const silent = await connect({ autoPong: false });
  const answering = await connect();
  const pings: string[] = [];
  silent.on('ping', (data) => pings.push(data.toString()));
  const closed = await new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
  console.log(`  pings before the silent client was closed: ${pings.length}`);
  assert.ok(pings.length >= 1);
  assert.is(pings[0], 'PING');
  assert.is(closed, 1006); // terminated, as Drogue's actor stops without a close frame
  assert.is(answering.readyState, WebSocket.OPEN);
  answering.close();
});

test('RefreshAccessToken with a token that does not validate closes with 1011; a message without it with 1002', async () => {
  const a = await connect();
  const codeA = new Promise<number>((resolve) => a.once('close', (code) => resolve(code)));
  a.send(JSON.stringify({ RefreshAccessToken: 'not.a.jwt' }));
  assert.is(await codeA, 1011);
  const b = await connect();
  const codeB = new Promise<number>((resolve) => b.once('close', (code) => resolve(code)));
  b.send(JSON.stringify({ Something: 1 }));
  assert.is(await codeB, 1002);
});

test.run();
