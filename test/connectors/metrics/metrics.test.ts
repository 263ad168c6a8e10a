// Embedded Mooring as `npm start` wires it: after real MQTT traffic (mqtt client), /metrics on the
// ingress port carries the documented series (docs/metrics.md) with the counts of that traffic,
// and /health/liveness, /health/readiness answer (readiness 503 once the stop began).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { configFromEnv } from '../../../cli/config.ts';
import { startMooring } from '../../../cli/mooring.ts';
import { DEMO_APPLICATION, DEMO_DEVICE, DEMO_PASSWORD } from '../../../connectors/registry/index.ts';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';
import { waitFor } from '../../helpers/http-app.ts';
import { samples } from './samples.ts';

test('after traffic, /metrics has the documented series with the right counts; health answers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mooring-metrics-'));
  const received: CloudEvent[] = [];
  const mooring = await startMooring(configFromEnv({}, {
    dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, demoSinkPort: 0,
    mqttIntegrationPort: 0, mqttIntegrationWsPort: 0, wsIntegrationPort: 0,
  }), { logger: silentLogger, onDemoEvent: (e) => received.push(e) });
  let closing: Promise<void> | undefined;
  try {
    const base = mooring.ingress.url.replace(/\/$/, '');
    assert.is((await fetch(`${base}/health/liveness`)).status, 200);
    assert.is((await fetch(`${base}/health/readiness`)).status, 200);

    const url = `mqtt://127.0.0.1:${mooring.mqtt.mqtt!.port}`;
    const refused = await mqtt.connectAsync(url, { username: `${DEMO_DEVICE}@${DEMO_APPLICATION}`, password: 'wrong', protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 })
      .then((c) => { c.end(true); return false; }, () => true);
    assert.ok(refused, 'a wrong password is refused');
    const client = await mqtt.connectAsync(url, { username: `${DEMO_DEVICE}@${DEMO_APPLICATION}`, password: DEMO_PASSWORD, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
    const N = 7;
    for (let i = 0; i < N; i++) await client.publishAsync('temperature', JSON.stringify({ i }), { qos: 1 });
    await waitFor(`${N} events at the demo sink`, () => received.filter((e) => e.type === 'io.drogue.event.v1').length >= N, 30_000);

    const res = await fetch(`${base}/metrics`);
    assert.is(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const m = samples(await res.text());
    const got = {
      connections: m.get('mooring_mqtt_connections'),
      accepted: m.get('mooring_mqtt_connects_total{outcome="accepted"}'),
      refused: m.get('mooring_mqtt_connects_total{outcome="refused"}'),
      published: m.get('mooring_mqtt_publishes_total{outcome="accepted"}'),
      dropped: m.get('mooring_mqtt_publishes_total{outcome="dropped"}'),
      deadLettered: m.get('mooring_bus_dead_lettered_total'),
    };
    console.log(`metrics after traffic: ${JSON.stringify(got)}`);
    assert.equal(got, { connections: 1, accepted: 1, refused: 1, published: N, dropped: 0, deadLettered: 0 });
    // Every series docs/metrics.md documents for this process is there.
    // (The series of the Kafka modes only are checked by test/e2e/readiness-kafka.test.ts.)
    const documented = [...readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8').matchAll(/^\| `(mooring_(?:mqtt|bus|commands|auth)_[a-z_]+)`(.*)$/gm)]
      .filter((x) => !x[2]!.includes('Kafka only')).map((x) => x[1]!);
    assert.ok(documented.length >= 8, `documented ${documented.length}`);
    const names = new Set([...m.keys()].map((k) => k.replace(/\{.*$/, '')));
    assert.equal(documented.filter((d) => !names.has(d)), []);
    assert.ok(names.has('mooring_process_resident_memory_bytes'));

    // A second scrape counts only what happened since (no double counting).
    await client.publishAsync('temperature', '{}', { qos: 1 });
    const again = samples(await (await fetch(`${base}/metrics`)).text());
    assert.is(again.get('mooring_mqtt_publishes_total{outcome="accepted"}'), N + 1);
    client.end(true);

    closing = mooring.close();
    const during = await fetch(`${base}/health/readiness`).then((r) => r.status, () => 'closed');
    assert.ok(during === 503 || during === 'closed', `readiness during the stop: ${during}`);
  } finally {
    await (closing ?? mooring.close());
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
