// Flood isolation (issue 14, docs/quotas.md): one application floods, another keeps publishing at a
// steady rate, and the second must not notice. Embedded mode as `npm start` wires it; `flood` has
// `spec.limits.application.messagesPerSecond: 200`, `steady` none. The steady tenant's devices
// publish QoS 1 every 50 ms, once alone and once while a separate process (quota-flooder.ts) floods
// over MQTT 5 (32 QoS 1 in flight per device) and HTTP. Printed: the steady tenant's p99
// publish→delivery latency in both phases, and the counts. Asserted: behaviour, not timings:
// every steady publish acknowledged and delivered in both phases (lost = 0), the flooder refused
// (PUBACK 0x97, HTTP 429).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { startEmbedded, type Embedded } from '../helpers/embedded.ts';
import { waitFor } from '../helpers/http-app.ts';
import { startChild } from '../helpers/process.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const STEADY = ['s1', 's2', 's3', 's4'];
const FLOODERS = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'];
const PHASE_MS = 4000;
const EVERY_MS = 50;

let e: Embedded;
const open: MqttClient[] = [];

test.before(async () => {
  e = await startEmbedded();
  await e.createApp('steady');
  await e.createApp('flood', { limits: { application: { messagesPerSecond: 200 } } });
  for (const d of STEADY) await e.createDevice('steady', d, 'pw');
  for (const d of FLOODERS) await e.createDevice('flood', d, 'pw');
  await waitFor('the push triggers', () => ['steady', 'flood'].every((a) => e.mooring.pushApplications().includes(a)));
  for (const d of STEADY) {
    open.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${e.mooring.mqtt.mqtt!.port}`, { username: `${d}@steady`, password: 'pw', protocolVersion: 5, reconnectPeriod: 0 }));
  }
});

test.after(async () => {
  for (const c of open) c.end(true);
  await e?.close();
});

interface Phase { sent: number; acked: number; failed: number; delivered: number; p99: number; p50: number }

/** Every steady device publishes QoS 1 every EVERY_MS for PHASE_MS; then waits for every delivery. */
async function steadyPhase(tag: string): Promise<Phase> {
  let sent = 0;
  let acked = 0;
  let failed = 0;
  const pending: Array<Promise<void>> = [];
  const end = Date.now() + PHASE_MS;
  while (Date.now() < end) {
    for (const c of open) {
      const body = JSON.stringify({ tag, seq: sent++, sent: Date.now() });
      pending.push(c.publishAsync('steady', body, { qos: 1 }).then(() => { acked++; }, () => { failed++; }));
    }
    await new Promise((r) => setTimeout(r, EVERY_MS));
  }
  await Promise.all(pending);
  const mine = () => e.app.received.filter((r) => r.path === '/steady' && r.headers['ce-type'] === 'io.drogue.event.v1' && r.body.includes(`"tag":"${tag}"`));
  await waitFor(`${tag}: every steady publish delivered (${sent})`, () => mine().length >= acked, 60_000);
  const latencies = mine().map((r) => r.at - (JSON.parse(r.body) as { sent: number }).sent).sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]!;
  return { sent, acked, failed, delivered: new Set(mine().map((r) => (JSON.parse(r.body) as { seq: number }).seq)).size, p50: at(0.5), p99: at(0.99) };
}

test('one application floods; the other\'s publishes are all delivered, its p99 printed with and without the flood', async () => {
  const quiet = await steadyPhase('quiet');

  const flooder = startChild(process.execPath, [TSX, join(ROOT, 'test/e2e/quota-flooder.ts'),
    String(e.mooring.mqtt.mqtt!.port), String(e.mooring.httpAddresses.http!.port), 'flood', 'pw', FLOODERS.join(','), '2'], {});
  let flooded: Phase;
  try {
    await flooder.waitFor(/^flooding$/m, 60_000);
    flooded = await steadyPhase('flooded');
  } finally {
    await flooder.stop('SIGTERM');
  }
  const line = flooder.output().split('\n').find((l) => l.startsWith('{'));
  assert.ok(line, `the flooder's counts:\n${flooder.output()}`);
  const counts = JSON.parse(line!) as Record<string, number> & { disconnectReasons?: Record<string, number> };
  const q = e.mooring.quotas;
  const refusedMqtt = q.refusals().filter((r) => r.protocol === 'mqtt' && r.kind === 'application_messages').reduce((n, r) => n + r.count, 0);
  console.log(`flood isolation: steady p99 without flood=${quiet.p99} ms (p50 ${quiet.p50}), with flood=${flooded.p99} ms (p50 ${flooded.p50})`);
  console.log(`  steady: quiet sent=${quiet.sent} delivered=${quiet.delivered} lost=${quiet.sent - quiet.delivered}; flooded sent=${flooded.sent} delivered=${flooded.delivered} lost=${flooded.sent - flooded.delivered}`);
  console.log(`  flooder: mqtt sent=${counts.mqttSent} accepted=${counts.mqttAccepted} refused(0x97)=${counts.mqttRefused} other=${counts.mqttOther} disconnects=${JSON.stringify(counts.disconnectReasons)}; http sent=${counts.httpSent} 202=${counts.http202} 429=${counts.http429} other=${counts.httpOther}; limiter refusals mqtt=${refusedMqtt}`);

  for (const [name, p] of [['quiet', quiet], ['flooded', flooded]] as const) {
    assert.is(p.failed, 0, `${name}: every steady publish acknowledged`);
    assert.is(p.acked, p.sent, `${name}: acknowledged`);
    assert.is(p.delivered, p.sent, `${name}: lost 0`);
  }
  assert.ok(counts.mqttRefused! > 0, 'the flooder\'s MQTT publishes were refused with 0x97');
  assert.ok(counts.http429! > 0, 'the flooder\'s HTTP publishes were refused with 429');
  assert.ok(counts.mqttAccepted! > 0, 'the flooder still gets its rate');
});

test.run();
