// Admission at accept (connectors/net/admission.ts), on real listeners sharing one Admission: the
// MQTT gateway (TCP, WebSocket) and the HTTP device endpoint. Over the per-source bound or the
// pending-handshake bound a socket is reset at once, while another source, or the same one once a
// connection closed or completed CONNECT, is served. Loopback is bounded here (`limitLoopback`);
// a second source is 127.0.0.2 (all of 127/8 reaches the loopback interface). By default loopback
// is exempt: the last test opens more than the bound from 127.0.0.1.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { generate } from 'mqtt-packet';
import { Admission } from '../../../connectors/net/admission.ts';
import { createMqttGateway } from '../../../connectors/mqtt/index.ts';
import { createHttpEndpoint } from '../../../connectors/http/index.ts';
import { memoryRegistry } from '../../helpers/memory-registry.ts';
import { RecordingBus } from '../../helpers/mqtt-recording-bus.ts';
import { mqttDocs } from '../../helpers/mqtt-fixtures.ts';

const WAIT_MS = 20_000;

async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A raw TCP socket from `localAddress`; resolves once connected (`closed` says when the server closed it). */
function rawSocket(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    s.on('error', () => undefined);
    const timer = setTimeout(() => reject(new Error('connect timed out')), WAIT_MS);
    const done = (): void => { clearTimeout(timer); resolve(s); };
    s.once('connect', done);
    s.once('close', done);
  });
}

/** Waits a moment and says whether the server closed `s` (a refused socket is reset at once). */
async function closedSoon(s: Socket): Promise<boolean> {
  const end = Date.now() + 2000;
  while (!s.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return s.closed;
}

const CONNECT = (clientId: string) => generate({
  cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0,
  username: 'device1@app1', password: Buffer.from('hey'),
});

async function setup(limits: ConstructorParameters<typeof Admission>[0]) {
  const admission = new Admission(limits);
  const registry = memoryRegistry(mqttDocs());
  const gw = createMqttGateway({ bus: new RecordingBus(), registry, listeners: { host: '127.0.0.1', port: 0, wsPort: 0, tlsPort: false, admission } });
  const addr = await gw.listen();
  const http = createHttpEndpoint({ bus: new RecordingBus(), registry, host: '127.0.0.1', port: 0, tlsPort: false, admission });
  const httpAddr = await http.listen();
  return {
    admission, gw, mqttPort: addr.mqtt!.port, httpPort: httpAddr.http!.port,
    close: async () => { await gw.close(); await http.close(); },
  };
}

test('pending handshakes: over the bound a socket is reset at accept; a completed CONNECT makes room', async () => {
  const f = await setup({ maxPending: 3, maxPerSource: 100, limitLoopback: true });
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) sockets.push(await rawSocket(f.mqttPort));
    await until('3 pending', () => f.admission.stats.pending === 3);
    const over = await rawSocket(f.mqttPort, '127.0.0.2');
    sockets.push(over);
    assert.ok(await closedSoon(over), 'the 4th pending socket (another source) is reset');
    // The first one completes CONNECT: no longer pending, so one more is admitted.
    const first = sockets[0]!;
    const connack = new Promise<Buffer>((r) => first.once('data', r));
    first.write(CONNECT('c1'));
    assert.is((await connack)[0], 0x20, 'CONNACK');
    await until('2 pending', () => f.admission.stats.pending === 2);
    const next = await rawSocket(f.mqttPort, '127.0.0.2');
    sockets.push(next);
    assert.not.ok(await closedSoon(next), 'admitted once a handshake completed');
    console.log(`  pending bound 3: stats ${JSON.stringify(f.admission.stats)}`);
    assert.is(f.admission.stats.refusedPending, 1);
  } finally {
    for (const s of sockets) s.destroy();
    await f.close();
  }
});

test('connections per source: counted across MQTT and HTTP; over the bound reset, another source served, a close makes room', async () => {
  const f = await setup({ maxPerSource: 4, maxPending: 100, limitLoopback: true });
  const clients: MqttClient[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      clients.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${f.mqttPort}`, { username: 'device1@app1', password: 'hey', clientId: `c${i}`, reconnectPeriod: 0, connectTimeout: WAIT_MS }));
    }
    // Each client connects as the same device: a takeover closes the previous ones, so count live sockets instead.
    await until('the per-source count to settle', () => f.admission.countOf('127.0.0.1') === clients.filter((c) => c.connected).length);
    const open = f.admission.countOf('127.0.0.1');
    const fill: Socket[] = [];
    for (let i = open; i < 4; i++) fill.push(await rawSocket(f.mqttPort));
    assert.is(f.admission.countOf('127.0.0.1'), 4);
    // MQTT over the bound: reset before CONNACK.
    const refusedMqtt = await mqtt.connectAsync(`mqtt://127.0.0.1:${f.mqttPort}`, { username: 'device1@app1', password: 'hey', reconnectPeriod: 0, connectTimeout: 5000 })
      .then(() => 'connected', (err: Error) => `refused: ${err.message}`);
    // HTTP from the same source: the same count, also reset.
    const refusedHttp = await fetch(`http://127.0.0.1:${f.httpPort}/v1/temp`, { method: 'POST', body: '{}', headers: { authorization: `Basic ${Buffer.from('device1@app1:hey').toString('base64')}` } })
      .then((r) => `status ${r.status}`, (err: Error) => `refused: ${err.message}`);
    // Another source is served.
    const other = await rawSocket(f.mqttPort, '127.0.0.2');
    const otherAck = new Promise<Buffer>((r) => other.once('data', r));
    other.write(CONNECT('other'));
    const ack = await otherAck;
    console.log(`  per-source bound 4: mqtt ${refusedMqtt}; http ${refusedHttp}; 127.0.0.2 CONNACK rc ${ack[3]}; stats ${JSON.stringify(f.admission.stats)}`);
    assert.ok(refusedMqtt.startsWith('refused'));
    assert.ok(refusedHttp.startsWith('refused'));
    assert.is(ack[0], 0x20);
    assert.ok(f.admission.stats.refusedPerSource >= 2);
    // A close makes room: the HTTP request is served now.
    for (const s of fill) s.destroy();
    for (const c of clients) c.end(true);
    await until('room', () => f.admission.countOf('127.0.0.1') < 4);
    const served = await fetch(`http://127.0.0.1:${f.httpPort}/v1/temp`, { method: 'POST', body: '{}', headers: { authorization: `Basic ${Buffer.from('device1@app1:hey').toString('base64')}`, 'content-type': 'application/json' } });
    console.log(`  after closing: http ${served.status}`);
    assert.is(served.status, 202);
    other.destroy();
  } finally {
    for (const c of clients) c.end(true);
    await f.close();
  }
});

test('loopback is exempt by default: more than the per-source bound from 127.0.0.1 are all served', async () => {
  const f = await setup({ maxPerSource: 2, maxPending: 2 });
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < 10; i++) sockets.push(await rawSocket(f.mqttPort));
    await new Promise((r) => setTimeout(r, 300));
    const closed = sockets.filter((s) => s.closed).length;
    console.log(`  loopback, bound 2: 10 opened, ${closed} closed; stats ${JSON.stringify(f.admission.stats)}`);
    assert.is(closed, 0);
    assert.is(f.admission.stats.admitted, 0, 'not even counted');
  } finally {
    for (const s of sockets) s.destroy();
    await f.close();
  }
});

test.run();
