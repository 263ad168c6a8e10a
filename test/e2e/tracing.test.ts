// W3C trace context end to end (issue 13), in embedded mode and in single-host Kafka mode as
// `npm start` wires them: a trace id sent by an MQTT 5 device (user property `traceparent`) and by
// an HTTP device (`traceparent` header) reaches the application's push endpoint as the
// `ce-traceparent` extension and the `traceparent` header with the same trace id, through
// normalize, content-type and the bus, and to an MQTT integration subscriber; a device without one
// gets a fresh valid trace. With MOORING_OTLP_ENDPOINT (embedded run), a real
// HTTP receiver decodes the OTLP/HTTP JSON export and finds the spans of that trace.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { newTraceparent, parseTraceparent } from '../../events/trace.ts';
import { startRecordingApp, waitFor, type RecordingApp, type Received } from '../helpers/http-app.ts';
import { ensureKafka, uniqueName } from '../helpers/kafka.ts';
import { writeRegistry } from '../helpers/faults.ts';
import { startOtlpReceiver } from '../helpers/otlp.ts';

function traceIdOfHeader(h: string | string[] | undefined): string | undefined {
  return parseTraceparent(typeof h === 'string' ? h : undefined)?.traceId;
}

function tracingSuite(mode: 'embedded' | 'kafka'): void {
  const t = suite(`tracing (${mode})`);
  const app = uniqueName('trace');
  let dir: string;
  let sink: RecordingApp;
  let mooring: Mooring;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>> | undefined;

  const arrived = (marker: string): Promise<Received> =>
    waitFor(`the event ${marker} at the sink`, () => sink.received.find((r) => r.body.includes(marker)), 30_000);

  t.before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mooring-trace-'));
    sink = await startRecordingApp();
    writeRegistry(join(dir, 'registry.yaml'), [{ name: app, url: `${sink.url}/in` }], [{ app, name: 'dev1', password: 'secret' }]);
    if (mode === 'embedded') otlp = await startOtlpReceiver();
    const kafkaBrokers = mode === 'kafka' ? (await ensureKafka()).brokers : undefined;
    mooring = await startMooring(configFromEnv({}, {
      registryPath: join(dir, 'registry.yaml'), dataDir: dir, host: '127.0.0.1', kafkaBrokers, otlpEndpoint: otlp?.url,
      mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, mqttIntegrationPort: 0, mqttIntegrationWsPort: 0, wsIntegrationPort: 0, demoSinkPort: 0,
    }), { logger: silentLogger });
  });

  t.after(async () => {
    await mooring?.close();
    await sink?.close();
    await otlp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const publishV5 = async (marker: string, userProperties?: Record<string, string>): Promise<void> => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mooring.mqtt.mqtt!.port}`, {
      protocolVersion: 5, username: `dev1@${app}`, password: 'secret', reconnectPeriod: 0,
    });
    try {
      await client.publishAsync('temp', JSON.stringify({ marker }), { qos: 1, properties: userProperties ? { userProperties } : {} });
    } finally {
      await client.endAsync();
    }
  };

  t('a v5 device\'s traceparent user property reaches the push POST with the same trace id', async () => {
    const sent = newTraceparent();
    const sentTrace = parseTraceparent(sent)!.traceId;
    await publishV5('mqtt-traced', { traceparent: sent });
    const r = await arrived('mqtt-traced');
    const ce = traceIdOfHeader(r.headers['ce-traceparent']);
    const w3c = traceIdOfHeader(r.headers.traceparent);
    console.log(`mqtt v5: sent trace ${sentTrace}, ce-traceparent ${String(r.headers['ce-traceparent'])}, traceparent ${String(r.headers.traceparent)}`);
    assert.is(ce, sentTrace);
    assert.is(w3c, sentTrace);
    if (otlp) {
      const spans = await waitFor('the spans of the trace at the OTLP receiver', () => {
        const mine = otlp!.spans.filter((s) => s.traceId === sentTrace);
        return mine.some((s) => s.name === 'mqtt publish') && mine.some((s) => s.name.includes('/app-')) && mine;
      }, 30_000);
      console.log(`otlp: ${spans.length} spans of trace ${sentTrace}: ${spans.map((s) => s.name).join(', ')}`);
      const ingress = spans.find((s) => s.name === 'mqtt publish')!;
      // The ingress span is a child of the device's span; the event carries the ingress span's id.
      assert.is(ingress.parentSpanId, parseTraceparent(sent)!.spanId);
      assert.is(parseTraceparent(r.headers['ce-traceparent'])!.spanId, ingress.spanId);
      assert.ok(spans.some((s) => s.name.includes('normalize')), 'a span of the normalize delivery');
    }
  });

  t('an HTTP device\'s traceparent header reaches the push POST with the same trace id', async () => {
    const sent = newTraceparent();
    const sentTrace = parseTraceparent(sent)!.traceId;
    const res = await fetch(`http://127.0.0.1:${mooring.httpAddresses.http!.port}/v1/temp`, {
      method: 'POST', body: JSON.stringify({ marker: 'http-traced' }),
      headers: { authorization: `Basic ${Buffer.from(`dev1@${app}:secret`).toString('base64')}`, 'content-type': 'application/json', traceparent: sent },
    });
    assert.is(res.status, 202);
    const r = await arrived('http-traced');
    console.log(`http: sent trace ${sentTrace}, ce-traceparent ${String(r.headers['ce-traceparent'])}`);
    assert.is(traceIdOfHeader(r.headers['ce-traceparent']), sentTrace);
    assert.is(traceIdOfHeader(r.headers.traceparent), sentTrace);
    if (otlp) {
      await waitFor('the HTTP ingress span', () => otlp!.spans.some((s) => s.traceId === sentTrace && s.name === 'http publish'), 30_000);
    }
  });

  t('a device without a (valid) traceparent gets a fresh valid trace, one per event', async () => {
    await publishV5('mqtt-untraced-1');
    await publishV5('mqtt-untraced-2', { traceparent: '00-00000000000000000000000000000000-0000000000000000-01' });
    const a = await arrived('mqtt-untraced-1');
    const b = await arrived('mqtt-untraced-2');
    const ta = parseTraceparent(a.headers['ce-traceparent']);
    const tb = parseTraceparent(b.headers['ce-traceparent']);
    console.log(`fresh: ${String(a.headers['ce-traceparent'])}, ${String(b.headers['ce-traceparent'])}`);
    assert.ok(ta && tb, 'valid traceparents');
    assert.is.not(ta.traceId, tb.traceId);
    assert.is(a.headers.traceparent, a.headers['ce-traceparent']);
  });

  t('the MQTT integration\'s subscriber gets the event with the device\'s trace id', async () => {
    // The application has no owner: an anonymous consumer may subscribe (Drogue's rule).
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mooring.mqttIntegrationAddresses.mqtt!.port}`, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      const got: Array<Record<string, unknown>> = [];
      sub.on('message', (_topic, payload) => got.push(JSON.parse(payload.toString('utf8')) as Record<string, unknown>));
      await sub.subscribeAsync(`app/${app}`, { qos: 1 });
      const sent = newTraceparent();
      await publishV5('integration-traced', { traceparent: sent });
      const e = await waitFor('the event at the integration', () => got.find((x) => JSON.stringify(x.data).includes('integration-traced')), 30_000);
      console.log(`integration: sent ${sent}, event traceparent ${String(e.traceparent)}`);
      assert.is(parseTraceparent(e.traceparent)?.traceId, parseTraceparent(sent)!.traceId);
    } finally {
      await sub.endAsync();
    }
  });

  t.run();
}

tracingSuite('embedded');
tracingSuite('kafka');
