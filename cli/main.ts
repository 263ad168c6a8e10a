// `npm start`: runs Mooring in one process (embedded mode, or single-host mode with
// MOORING_KAFKA_BROKERS), prints what it listens on and how to try it, and stops on SIGINT/SIGTERM.
// Arguments name the parts to serve (`gateway`, `http,api`, …; config.ts PARTS), as the image's
// entry point (cli/serve.ts) passes them; none: all of them.

import { pino } from 'pino';
import { DEMO_APPLICATION, DEMO_DEVICE, DEMO_PASSWORD } from '../connectors/registry/index.ts';
import type { Logger } from '../functions/ports/runtime.ts';
import { configFromEnv, configWarnings, describeStartError, PARTS, partsFromArgs } from './config.ts';
import { describeEvent } from './demo-sink.ts';
import { startMooring } from './mooring.ts';

async function main(): Promise<void> {
  const config = configFromEnv();
  const parts = partsFromArgs(process.argv.slice(2));
  const logger = pino({ level: config.logLevel, base: { service: 'mooring' } }, pino.destination(2)) as unknown as Logger;
  for (const warning of configWarnings()) logger.warn(warning);
  const mooring = await startMooring(config, {
    logger,
    parts,
    onDemoEvent: (event) => console.log(`[demo-app sink] ${describeEvent(event)}`),
  });
  const { mqtt, ingress, demoSink, demoUser, httpAddresses } = mooring;
  const httpUrl = httpAddresses.http ? `http://localhost:${httpAddresses.http.port}` : undefined;
  const integration = mooring.mqttIntegrationAddresses;
  const apiUrl = mooring.api ? `http://localhost:${mooring.api.port}` : undefined;
  const lines = [
    '',
    `Mooring is running${parts.size < PARTS.length ? ` (${[...parts].join(', ')})` : ''} (${config.kafkaBrokers ? `single-host mode, Kafka at ${config.kafkaBrokers.join(',')}` : 'embedded mode, in-memory broker'})`,
    `  registry        ${mooring.registryDescription}`,
    ...(apiUrl ? [`  management API  ${apiUrl}  (drg, curl; OpenAPI at ${apiUrl}/api)`] : []),
    ...(mqtt.mqtt ? [`  MQTT            tcp://localhost:${mqtt.mqtt.port}`] : []),
    ...(mqtt.mqtts ? [`  MQTT over TLS   ssl://localhost:${mqtt.mqtts.port}`] : []),
    ...(mqtt.ws ? [`  MQTT over WS    ws://localhost:${mqtt.ws.port}/mqtt`] : []),
    ...(httpUrl ? [`  HTTP devices    ${httpUrl}/v1/<channel>  (and TTN webhooks at /ttn, /ttn/v3)`] : []),
    ...(httpAddresses.https ? [`  HTTPS devices   https://localhost:${httpAddresses.https.port}/v1/<channel>`] : []),
    ...(integration.mqtt ? [`  MQTT integration tcp://localhost:${integration.mqtt.port}  (applications: subscribe to app/<app>)`] : []),
    ...(mooring.wsIntegration ? [`  WS integration  ws://localhost:${mooring.wsIntegration.address.port}/<app>  (drg stream)`] : []),
    `  broker ingress  ${ingress.url}  (POST a CloudEvent)`,
    ...(demoSink ? [`  demo app sink   ${demoSink.url}  (prints what it receives)`] : []),
    '',
  ];
  if (demoSink && (mqtt.mqtt || httpUrl)) {
    lines.push(
      'Try it:',
      ...(mqtt.mqtt ? [`  mosquitto_pub -h localhost -p ${mqtt.mqtt.port} -u '${DEMO_DEVICE}@${DEMO_APPLICATION}' -P ${DEMO_PASSWORD} -t temperature -m '{"temp":21.5}'`] : []),
      ...(httpUrl ? [`  curl -u '${DEMO_DEVICE}@${DEMO_APPLICATION}:${DEMO_PASSWORD}' -H 'Content-Type: application/json' -d '{"temp":22.5}' ${httpUrl}/v1/temperature`] : []),
      '',
    );
  }
  if (demoSink && demoUser && mqtt.mqtt && apiUrl) {
    const device = { metadata: { name: 'my-device', application: DEMO_APPLICATION }, spec: { authentication: { credentials: [{ pass: 'my-secret' }] } } };
    lines.push(
      `The demo user '${demoUser.username}' owns ${DEMO_APPLICATION}; its access token: ${demoUser.token}`,
      'Create a device through the API, then publish as it:',
      `  curl -u '${demoUser.username}:${demoUser.token}' -H 'Content-Type: application/json' -d '${JSON.stringify(device)}' ${apiUrl}/api/registry/v1alpha1/apps/${DEMO_APPLICATION}/devices`,
      `  mosquitto_pub -h localhost -p ${mqtt.mqtt.port} -u 'my-device@${DEMO_APPLICATION}' -P my-secret -t temperature -m '{"temp":22}'`,
      'Or with Drogue\'s CLI (cargo install drg --version 0.11.0):',
      `  drg login ${apiUrl} --access-token '${demoUser.username}:${demoUser.token}'`,
      `  drg get devices --app ${DEMO_APPLICATION}`,
      '',
    );
    if (integration.mqtt) {
      lines.push(
        'Watch the demo application\'s events as it does (the MQTT integration):',
        `  mosquitto_sub -h localhost -p ${integration.mqtt.port} -u '${demoUser.username}' -P '${demoUser.token}' -t 'app/${DEMO_APPLICATION}'`,
        '',
      );
    }
  }
  console.log(lines.filter((l, i) => l !== '' || i === 0 || lines[i - 1] !== '').join('\n'));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping Mooring`);
    mooring.close().then(() => process.exit(0), (err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(`mooring: ${describeStartError(err)}`);
  process.exit(1);
});
