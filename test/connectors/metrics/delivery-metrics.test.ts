// The series of issue 13 (docs/metrics.md) after real traffic through embedded Mooring as
// `npm start` wires it: push deliveries by status, retries and dead letters, checked against what
// a real application endpoint answered; command outcomes; the verified-secrets cache's hits and
// misses over real MQTT connects.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { configFromEnv } from '../../../cli/config.ts';
import { startMooring } from '../../../cli/mooring.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';
import { startRecordingApp, waitFor } from '../../helpers/http-app.ts';
import { samples } from './samples.ts';

test('deliveries by status, retries, dead letters, command outcomes and the auth cache count what happened', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mooring-metrics-'));
  // /flaky answers 503 once, then 200; /bad always 400 (dead letter at once); /ok 200.
  const app = await startRecordingApp((path, n) => (path === '/bad' ? 400 : path === '/flaky' && n === 0 ? 503 : 200));
  const registryPath = join(dir, 'registry.yaml');
  const apps = ['ok', 'flaky', 'bad'];
  writeFileSync(registryPath, [
    ...apps.map((a) => `kind: Application\nmetadata:\n  name: ${a}\nspec:\n  knative:\n    endpoint:\n      url: ${app.url}/${a}\n`),
    ...apps.map((a) => `kind: Device\nmetadata:\n  name: d1\n  application: ${a}\nspec:\n  authentication:\n    credentials:\n      - pass: secret\n`),
  ].join('---\n'));
  const mooring = await startMooring(configFromEnv({}, {
    registryPath, dataDir: dir, host: '127.0.0.1',
    mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, mqttIntegrationPort: 0, mqttIntegrationWsPort: 0, wsIntegrationPort: 0, demoSinkPort: 0,
  }), { logger: silentLogger });
  try {
    const url = `mqtt://127.0.0.1:${mooring.mqtt.mqtt!.port}`;
    const connect = (a: string) => mqtt.connectAsync(url, { username: `d1@${a}`, password: 'secret', protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
    for (const a of apps) {
      // Twice: the second connect's password check is answered from the verified-secrets cache.
      await (await connect(a)).endAsync();
      const c = await connect(a);
      await c.publishAsync('temp', JSON.stringify({ a }), { qos: 1 });
      await c.endAsync();
    }
    const held = await connect('ok');
    await held.subscribeAsync('command/inbox//#', { qos: 1 });
    const outcomes = [
      (await mooring.commands.sendCommand({ application: 'ok', device: 'd1', command: 'blink' })).outcome,
      // Not connected: offline; no such device: refused (406).
      (await mooring.commands.sendCommand({ application: 'flaky', device: 'd1', command: 'blink' }).then((r) => r.outcome, () => 'refused')),
      (await mooring.commands.sendCommand({ application: 'ok', device: 'nobody', command: 'blink' }).then((r) => r.outcome, () => 'refused')),
      (await mooring.commands.sendCommand({ application: 'ok', device: 'd1', command: 'a/#' }).then((r) => r.outcome, () => 'refused')),
    ];
    console.log(`command outcomes: ${outcomes.join(', ')}`);
    await held.endAsync();

    const base = mooring.ingress.url.replace(/\/$/, '');
    const answered = (status: number) => app.received.filter((r) => r.status === status).length;
    // The counts settle once the sink answered everything (every application's data event, the
    // later ones of a device wait for its earlier ones): compare until they agree.
    const dataArrived = () => apps.every((a) => app.received.some((r) => r.path === `/${a}` && r.body.includes(`"a":"${a}"`) && r.status !== 503));
    const scrape = async () => samples(await (await fetch(`${base}/metrics`)).text());
    const m = await waitFor('the delivery series to match what the endpoint answered', async () => {
      const s = await scrape();
      const ok = dataArrived() && s.get('mooring_bus_retries_total') === answered(503) && s.get('mooring_bus_deliveries_total{status="2xx"}') === answered(200)
        && s.get('mooring_bus_deliveries_total{status="400"}') === answered(400)
        && s.get('mooring_bus_dead_lettered_total') === answered(400);
      return ok && s;
    }, 30_000).catch(async (err: unknown) => {
      console.log(`answered 200=${answered(200)} 400=${answered(400)} 503=${answered(503)}\n${[...(await scrape())].filter(([k]) => k.startsWith('mooring_bus')).join('\n')}`);
      throw err;
    });
    const got = {
      delivered2xx: m.get('mooring_bus_deliveries_total{status="2xx"}'),
      refused400: m.get('mooring_bus_deliveries_total{status="400"}'),
      deadLettered: m.get('mooring_bus_dead_lettered_total'),
      retries: m.get('mooring_bus_retries_total'),
      commandsDelivered: m.get('mooring_commands_total{outcome="delivered"}'),
      commandsRefused: m.get('mooring_commands_total{outcome="refused"}'),
      commandsOffline: m.get('mooring_commands_total{outcome="offline"}'),
      authHits: m.get('mooring_auth_cache_lookups_total{result="hit"}'),
      authMisses: m.get('mooring_auth_cache_lookups_total{result="miss"}'),
    };
    console.log(`metrics: ${JSON.stringify(got)}; endpoint answered 200=${answered(200)} 400=${answered(400)} 503=${answered(503)}`);
    assert.is(answered(503), 1);
    assert.is(got.retries, 1, 'the one 503 was retried once');
    assert.ok(answered(400) >= 1, 'the refusing application got its event');
    const expected = { delivered: 0, offline: 0, refused: 0 } as Record<string, number>;
    for (const o of outcomes) expected[o] = (expected[o] ?? 0) + 1;
    assert.equal([got.commandsDelivered, got.commandsOffline, got.commandsRefused], [expected.delivered, expected.offline, expected.refused]);
    assert.equal(outcomes, ['delivered', 'offline', 'refused', 'refused']);
    // Six connects with the right password, one verification (a miss) per device, the rest hits.
    assert.equal([got.authHits, got.authMisses], [4, 3]);
  } finally {
    await mooring.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
