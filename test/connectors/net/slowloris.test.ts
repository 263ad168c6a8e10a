// Slowloris and handshake timeouts on Mooring as `npm start` wires it (short bounds configured):
// raw sockets that trickle a request's headers or body byte by byte into the HTTP device
// endpoint, the management API, the ingress and the two WebSocket listeners get 408 and are
// closed; a TLS handshake that does not complete is dropped; a WebSocket that never sends its MQTT
// CONNECT is closed. Meanwhile normal clients are served. What each socket got, and after how
// long, is printed; the assertions are on behaviour (the answer, the close), with generous bounds.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import WebSocket from 'ws';
import type { Mooring } from '../../../cli/mooring.ts';
import { createMqttGateway } from '../../../connectors/mqtt/index.ts';
import { deviceDoc, startOnFreePorts } from './fixture.ts';
import { makeMqttPki } from '../../helpers/mqtt-pki.ts';
import { memoryRegistry } from '../../helpers/memory-registry.ts';
import { RecordingBus } from '../../helpers/mqtt-recording-bus.ts';
import { mqttDocs } from '../../helpers/mqtt-fixtures.ts';

const BOUND_MS = 20_000;
const AUTH = `Basic ${Buffer.from('d1@app1:secret').toString('base64')}`;

interface Trickled { answer: string; closedAfterMs: number; sent: number }

/**
 * Opens a raw socket, writes `head`, then one byte of `drip` every 100 ms (cycling) until the
 * server closes the socket; resolves with what the server answered and when it closed.
 */
function trickle(port: number, head: string, drip: string): Promise<Trickled> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const s = connect({ host: '127.0.0.1', port });
    let answer = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    s.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
    s.on('error', () => undefined);
    s.once('connect', () => {
      if (head !== '') s.write(head);
      timer = drip === '' ? undefined : setInterval(() => { if (!s.destroyed) { s.write(drip[sent % drip.length]!); sent++; } }, 100);
    });
    s.once('close', () => {
      clearInterval(timer);
      clearTimeout(bound);
      resolve({ answer, closedAfterMs: Date.now() - start, sent });
    });
    const bound = setTimeout(() => { clearInterval(timer); s.destroy(); reject(new Error(`not closed within ${BOUND_MS} ms; got ${JSON.stringify(answer)}`)); }, BOUND_MS);
  });
}

const statusOf = (answer: string): string => answer.split('\r\n')[0] ?? '';

let mooring: Mooring;
let stop: () => Promise<void>;
const pki = makeMqttPki();

test.before(async () => {
  ({ mooring, close: stop } = await startOnFreePorts(['kind: Application\nmetadata:\n  name: app1\nspec: {}\n', deviceDoc('app1', 'd1', 'secret')], {
    tlsCert: pki.pem('server'), tlsKey: readFileSync(pki.path('server.key'), 'utf8'),
    httpHeadersTimeoutMs: 1000, httpRequestTimeoutMs: 2000, handshakeTimeoutMs: 1000,
  }));
});

test.after(async () => {
  await stop?.();
  pki.cleanup();
});

/** A normal request to each HTTP server, while the tricklers run. */
async function normalClientsServed(): Promise<string> {
  const http = await fetch(`http://127.0.0.1:${mooring.httpAddresses.http!.port}/v1/temp`, { method: 'POST', body: '{"t":1}', headers: { authorization: AUTH, 'content-type': 'application/json' } });
  const api = await fetch(`${mooring.api!.url}/.well-known/drogue-endpoints`);
  const ingress = await fetch(`${mooring.ingress.url}health`);
  assert.is(http.status, 202);
  assert.is(api.status, 200);
  assert.is(ingress.status, 200);
  return `normal clients: http ${http.status}, api ${api.status}, ingress ${ingress.status}`;
}

test('HTTP endpoint, API, ingress: trickled headers and trickled bodies get 408 and are closed; normal clients served meanwhile', async () => {
  const servers = {
    endpoint: { port: mooring.httpAddresses.http!.port, path: '/v1/temp' },
    api: { port: mooring.api!.port, path: '/api/registry/v1/apps' },
    ingress: { port: Number(new URL(mooring.ingress.url).port), path: '/' },
  };
  const runs: Array<Promise<[string, Trickled]>> = [];
  for (const [name, { port, path }] of Object.entries(servers)) {
    runs.push(trickle(port, `POST ${path} HTTP/1.1\r\nHost: x\r\n`, 'X-Slow: aaaaaaaaaa\r\n').then((r) => [`${name} headers`, r]));
    runs.push(trickle(port, `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":"`, 'b')
      .then((r) => [`${name} body`, r]));
    runs.push(trickle(port, '', '').then((r) => [`${name} silent`, r]));
  }
  const normal = await normalClientsServed();
  const results = await Promise.all(runs);
  for (const [name, r] of results) console.log(`  ${name}: ${JSON.stringify(statusOf(r.answer))} after ${r.closedAfterMs} ms, ${r.sent} bytes trickled`);
  console.log(`  ${normal}`);
  for (const [name, r] of results) {
    // The API may answer the request before its body is complete (here 404: the caller may not see
    // the application); the connection is still cut off with a 408 when the request runs out of time.
    assert.ok(r.answer.includes('HTTP/1.1 408 Request Timeout\r\n'), `${name}: ${r.answer}`);
  }
  const endpointBody = results.find(([n]) => n === 'endpoint body')![1].answer;
  assert.ok(endpointBody.includes('"error":"MOORING_TIMEOUT"'), endpointBody);
});

test('WebSocket listeners: a trickled upgrade request gets 408 and is closed', async () => {
  const upgrade = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n`;
  const [mqttWs, wsIntegration] = await Promise.all([
    trickle(mooring.mqtt.ws!.port, upgrade('/mqtt'), 'X-Slow: aaaaaaaaaa\r\n'),
    trickle(mooring.wsIntegration!.address.port, upgrade('/app1'), 'X-Slow: aaaaaaaaaa\r\n'),
  ]);
  console.log(`  mqtt ws: ${statusOf(mqttWs.answer)} after ${mqttWs.closedAfterMs} ms; ws integration: ${statusOf(wsIntegration.answer)} after ${wsIntegration.closedAfterMs} ms`);
  assert.is(statusOf(mqttWs.answer), 'HTTP/1.1 408 Request Timeout');
  assert.is(statusOf(wsIntegration.answer), 'HTTP/1.1 408 Request Timeout');
  console.log(`  ${await normalClientsServed()}`);
});

test('TLS listeners: a handshake that does not complete (silent, or a ClientHello trickled) is dropped', async () => {
  const ports = { mqtts: mooring.mqtt.mqtts!.port, https: mooring.httpAddresses.https!.port, 'mqtt integration tls': mooring.mqttIntegrationAddresses.mqtts!.port };
  // The first bytes of a TLS record header of a ClientHello, then one byte at a time.
  const results = await Promise.all(Object.entries(ports).flatMap(([name, port]) => [
    trickle(port, '', '').then((r) => [`${name} silent`, r] as const),
    trickle(port, '\x16\x03\x01\x02\x00\x01', '\x00').then((r) => [`${name} trickled hello`, r] as const),
  ]));
  for (const [name, r] of results) console.log(`  ${name}: closed after ${r.closedAfterMs} ms, ${r.sent} bytes trickled, answer ${r.answer.length} bytes`);
  for (const [name, r] of results) assert.ok(r.closedAfterMs < BOUND_MS, name);
  // A real TLS client is served meanwhile.
  const tls = await import('node:tls');
  const protocol = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: ports.mqtts, ca: pki.pem('server-ca'), servername: 'localhost' }, () => { resolve(s.getProtocol() ?? ''); s.destroy(); });
    s.on('error', reject);
  });
  console.log(`  a normal TLS client: ${protocol}`);
  assert.is(protocol, 'TLSv1.3');
});

test('MQTT over WebSocket: a connection that never sends CONNECT is closed after the CONNECT timeout', async () => {
  const gw = createMqttGateway({
    bus: new RecordingBus(), registry: memoryRegistry(mqttDocs()), connectTimeoutMs: 500, timerResolutionMs: 50,
    listeners: { host: '127.0.0.1', port: false, tlsPort: false, wsPort: 0 },
  });
  try {
    const addr = await gw.listen();
    const start = Date.now();
    const ws = new WebSocket(`ws://127.0.0.1:${addr.ws!.port}/mqtt`, 'mqtt');
    const opened = await new Promise<boolean>((r) => { ws.once('open', () => r(true)); ws.once('error', () => r(false)); });
    const closed = await new Promise<number>((resolve, reject) => {
      ws.once('close', () => resolve(Date.now() - start));
      setTimeout(() => reject(new Error('not closed')), BOUND_MS).unref();
    });
    console.log(`  websocket opened ${opened}, closed without CONNECT after ${closed} ms; connections left ${gw.stats.connections}`);
    assert.ok(opened);
    assert.is(gw.stats.connections, 0);
  } finally {
    await gw.close();
  }
});

test.run();
