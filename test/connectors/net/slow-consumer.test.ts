// Slow consumers: a client that stops reading what Mooring sends it gets a bounded outgoing queue
// and is disconnected, while the other clients keep receiving, and the server's memory does not
// grow with what the non-reader is sent. A device that never reads its commands (MQTT gateway,
// queue bound 256 KiB); an application that never reads its MQTT integration stream (bound 64 KiB,
// write stall 2 s) or its WebSocket integration stream (unanswered pings). The measured figures
// (bytes pushed, when the non-reader was cut off, RSS before and after) are printed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { generate } from 'mqtt-packet';
import WebSocket from 'ws';
import { createMqttGateway } from '../../../connectors/mqtt/index.ts';
import { deviceDoc, startOnFreePorts } from './fixture.ts';
import { memoryRegistry } from '../../helpers/memory-registry.ts';
import { RecordingBus } from '../../helpers/mqtt-recording-bus.ts';
import { mqttDocs } from '../../helpers/mqtt-fixtures.ts';

const WAIT_MS = 60_000;
const MiB = 1024 * 1024;
const rss = (): string => `${(process.memoryUsage().rss / MiB).toFixed(0)} MiB`;
const tick = (ms = 1): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(20);
  }
}

/** A raw MQTT client that sends `packets` (answers read until the last one's), then stops reading. */
async function nonReader(port: number, packets: Buffer[], answers: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  s.on('error', () => undefined);
  await new Promise((r) => s.once('connect', r));
  let got = 0;
  const all = new Promise<void>((resolve) => s.on('data', (d: Buffer) => { got += d.length; if (got >= answers) resolve(); }));
  for (const p of packets) s.write(p);
  await all;
  s.removeAllListeners('data');
  s.pause(); // from here on it reads nothing
  return s;
}

test('a device that never reads its commands is disconnected past its queue bound; another device receives all of its own', async () => {
  const maxWriteBuffer = 256 * 1024;
  const gw = createMqttGateway({
    bus: new RecordingBus(), registry: memoryRegistry(mqttDocs()), maxWriteBuffer, timerResolutionMs: 100,
    listeners: { host: '127.0.0.1', port: 0, wsPort: false, tlsPort: false },
  });
  const port = (await gw.listen()).mqtt!.port;
  const fast = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: 'gateway1@app1', password: 'gw', reconnectPeriod: 0 });
  let fastGot = 0;
  fast.on('message', () => { fastGot++; });
  await fast.subscribeAsync('command/inbox//#');
  // CONNACK (4 bytes) + SUBACK (5 bytes), then it stops reading.
  const slow = await nonReader(port, [
    generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'slow', keepalive: 0, username: 'device1@app1', password: Buffer.from('hey') }),
    generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'command/inbox//#', qos: 0 }] }),
  ], 9);
  try {
    const before = rss();
    const big = Buffer.alloc(16 * 1024, 0x61);
    let pushed = 0;
    let fastSent = 0;
    let peak = 0;
    const start = Date.now();
    while (gw.stats.connections > 1 && pushed < 400 * MiB && Date.now() - start < WAIT_MS) {
      for (let i = 0; i < 4; i++) {
        if (gw.deliverCommand('app1', 'device1', 'big', big) === 1) pushed += big.length;
      }
      fastSent += gw.deliverCommand('app1', 'gateway1', 'small', Buffer.from('x'));
      peak = Math.max(peak, process.memoryUsage().rss);
      await tick();
    }
    const cutAt = pushed;
    for (let i = 0; i < 100; i++) { fastSent += gw.deliverCommand('app1', 'gateway1', 'small', Buffer.from('x')); await tick(); }
    await until('the fast device to receive every command', () => fastGot === fastSent);
    console.log(`  device queue bound ${maxWriteBuffer / 1024} KiB: non-reader disconnected after ${(cutAt / MiB).toFixed(1)} MiB of commands `
      + `(the rest sat in kernel socket buffers); other device got ${fastGot}/${fastSent}; RSS before ${before}, peak ${(peak / MiB).toFixed(0)} MiB, after ${rss()}`);
    assert.is(gw.stats.connections, 1, 'the non-reader is gone');
    assert.ok(cutAt < 400 * MiB, 'disconnected long before the push budget');
    assert.is(fastGot, fastSent);
  } finally {
    slow.destroy();
    fast.end(true);
    await gw.close();
  }
});

test('applications that never read their stream (MQTT integration: queue bound + write stall; WebSocket integration: unanswered pings) are disconnected; a reading one gets every event', async () => {
  const { mooring, close } = await startOnFreePorts(
    ['kind: Application\nmetadata:\n  name: open\nspec: {}\n', deviceDoc('open', 'o1', 'secret')],
    { mqttsPort: 0, maxOutgoingBytes: 64 * 1024, writeStallMs: 2000 },
  );
  const integrationPort = mooring.mqttIntegrationAddresses.mqtt!.port;
  const reader = await mqtt.connectAsync(`mqtt://127.0.0.1:${integrationPort}`, { reconnectPeriod: 0, clientId: 'reader' });
  let readerGot = 0;
  reader.on('message', () => { readerGot++; });
  await reader.subscribeAsync('app/open', { qos: 0 });
  const slowMqtt = await nonReader(integrationPort, [
    generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'slow', keepalive: 0 }),
    generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'app/open', qos: 0 }] }),
  ], 9);
  const slowWs = new WebSocket(`ws://127.0.0.1:${mooring.wsIntegration!.address.port}/open`);
  await new Promise((r) => slowWs.once('open', r));
  await until('the WebSocket to be served', () => mooring.wsIntegration!.connections === 1);
  let wsClosedAt = 0;
  (slowWs as unknown as { _socket: Socket })._socket.pause(); // reads nothing more: no pong either
  const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${mooring.mqtt.mqtt!.port}`, { username: 'o1@open', password: 'secret', reconnectPeriod: 0 });
  try {
    const before = rss();
    const start = Date.now();
    const payload = JSON.stringify({ fill: 'x'.repeat(8 * 1024) });
    let published = 0;
    let mqttCutAt = 0;
    while ((mooring.mqttIntegration.stats.connections > 1 || wsClosedAt === 0) && Date.now() - start < WAIT_MS) {
      await device.publishAsync('fill', payload, { qos: 1 });
      published++;
      if (mqttCutAt === 0 && mooring.mqttIntegration.stats.connections === 1) mqttCutAt = Date.now() - start;
      // The server's side: a paused client does not see the close itself.
      if (wsClosedAt === 0 && mooring.wsIntegration!.connections === 0) wsClosedAt = Date.now();
    }
    if (mqttCutAt === 0 && mooring.mqttIntegration.stats.connections === 1) mqttCutAt = Date.now() - start;
    await until('the reader to get every event', () => readerGot === published);
    console.log(`  integrations (bound 64 KiB, stall 2 s): ${published} events of ${(payload.length / 1024).toFixed(0)} KiB published; `
      + `MQTT non-reader disconnected after ${mqttCutAt} ms, WebSocket non-reader after ${wsClosedAt - start} ms; reader got ${readerGot}/${published}; RSS before ${before}, after ${rss()}`);
    assert.is(mooring.mqttIntegration.stats.connections, 1, 'the MQTT non-reader is gone');
    assert.ok(wsClosedAt > 0, 'the WebSocket non-reader is gone');
    assert.is(readerGot, published);
  } finally {
    slowMqtt.destroy();
    slowWs.terminate();
    reader.end(true);
    device.end(true);
    await close();
  }
});

test.run();
