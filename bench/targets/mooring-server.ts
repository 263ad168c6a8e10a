// Mooring as a system under test, in its own process, composed exactly as `npm start` composes
// it (cli/mooring.ts startMooring: registry file, bus with the knative/ Triggers, functions
// in-process, push sinks, and the MQTT gateway from connectors/mqtt createMqttGateway). The
// registry is one application pushing to the bench's sink and N devices with passwords. Every
// Mooring part is loaded with a dynamic import, so the bench runs (and reports "not available
// yet") before those parts exist.
//
// Environment: MOORING_BENCH_PORT (MQTT), MOORING_BENCH_HTTP_PORT (HTTP devices), MOORING_BENCH_SINK
// (URL; empty: no push endpoint), MOORING_BENCH_USERS,
// MOORING_BENCH_DIR (scratch directory), MOORING_KAFKA_BROKERS (set: the bus is Kafka).
// Stdout: JSON lines {"event":"listening",port} / {"event":"injected"}; stdin: `inject N` puts N
// device events straight into the bus (push sink scenario). With MOORING_BENCH_CHECK=1 it only
// checks that the parts exist, prints {"event":"available"} or {"event":"unavailable",reason}.

import { randomUUID } from 'node:crypto';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CloudEvent } from '../../events/cloudevent.ts';
import type { EventBus, Logger } from '../../functions/ports/index.ts';
import { silentLogger } from '../../functions/ports/index.ts';

/**
 * The plug-in points: where the bench finds Mooring's parts and the shape it expects of each,
 * kept in one place. `startMooring` builds the gateway with `createMqttGateway({bus, registry,
 * logger, listeners})`; the bench checks that both exist.
 */
export const PARTS = {
  /** `createMqttGateway({bus, registry, logger, listeners}) → {listen(): Promise<addresses>, close()}` */
  gateway: { module: '../../connectors/mqtt/index.ts', export: 'createMqttGateway' },
  /** `configFromEnv(env, overrides) → Config` */
  config: { module: '../../cli/config.ts', export: 'configFromEnv' },
  /** `startMooring(config, {logger}) → Promise<{bus, mqtt: {mqtt: {port}}, close()}>` (the composition root) */
  compose: { module: '../../cli/mooring.ts', export: 'startMooring' },
} as const;

type ConfigFromEnv = (env: Record<string, string | undefined>, overrides?: Record<string, unknown>) => unknown;
export type StartMooring = (config: unknown, options: { logger: Logger }) =>
  Promise<{ bus: EventBus; mqtt: { mqtt?: { port: number } }; api: { port: number }; mqttIntegrationAddresses?: { mqtt?: { port: number } }; close(): Promise<void> }>;

/** Loads one part; throws an Error naming what is missing. */
async function load<T>(part: { module: string; export: string }): Promise<T> {
  const file = part.module.replace('../../', '');
  let mod: Record<string, unknown>;
  try {
    mod = await import(part.module) as Record<string, unknown>;
  } catch (e) {
    const missing = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(file);
    throw new Error(missing ? `${file} does not exist yet` : `${file} failed to load: ${(e as Error).message}`, { cause: e });
  }
  if (typeof mod[part.export] !== 'function') throw new Error(`${file} has no export ${part.export} yet`);
  return mod[part.export] as T;
}

const say = (o: object): void => { process.stdout.write(JSON.stringify(o) + '\n'); };

/** The user owning the bench application: the command round trip sends commands as it. */
const BENCH_USER = 'demo';

/**
 * The bench's registry: application `bench` pushing to the sink (none when `sinkUrl` is empty:
 * the connections scenario, where nothing listens), devices dev0…dev{n-1} with password pw-{i},
 * stored as `hashes[i]` (sha512-crypt) when given, as Mooring's registry stores passwords, else in
 * plain text.
 */
export function benchRegistryYaml(users: number, sinkUrl: string, hashes?: readonly string[]): string {
  // JSON is YAML: one document per resource.
  const docs: string[] = [JSON.stringify({
    kind: 'Application', metadata: { name: 'bench' }, access: { owner: BENCH_USER },
    spec: sinkUrl === '' ? {} : { knative: { endpoint: { url: sinkUrl } } },
  })];
  for (let i = 0; i < users; i++) {
    docs.push(JSON.stringify({
      kind: 'Device', metadata: { name: `dev${i}`, application: 'bench' },
      spec: { authentication: { credentials: [{ pass: hashes?.[i] !== undefined ? { sha512: hashes[i] } : `pw-${i}` }] } },
    }));
  }
  return docs.join('\n---\n') + '\n';
}

/** A device event as normalize/content-type produce it, for the push sink scenario. */
function deviceEvent(i: number, devices: number, data: Uint8Array): CloudEvent {
  const device = `dev${i % devices}`;
  return {
    specversion: '1.0', id: randomUUID(), source: `drogue://bench/${device}`, type: 'io.drogue.event.v1',
    subject: 'telemetry', datacontenttype: 'application/json', data, time: new Date().toISOString(),
    extensions: { application: 'bench', device, sender: device, instance: 'drogue', partitionkey: `bench/${device}` },
  };
}

async function main(): Promise<void> {
  if (process.env.MOORING_BENCH_CHECK === '1') {
    try {
      for (const part of Object.values(PARTS)) await load(part);
      say({ event: 'available' });
    } catch (e) {
      say({ event: 'unavailable', reason: (e as Error).message });
    }
    process.exit(0);
  }
  const port = Number(process.env.MOORING_BENCH_PORT);
  const users = Number(process.env.MOORING_BENCH_USERS ?? '10');
  const sinkUrl = process.env.MOORING_BENCH_SINK ?? '';
  const dir = process.env.MOORING_BENCH_DIR ?? '.';

  await load(PARTS.gateway);
  const configFromEnv = await load<ConfigFromEnv>(PARTS.config);
  const startMooring = await load<StartMooring>(PARTS.compose);

  const registryPath = join(dir, `registry-${process.pid}.yaml`);
  const hashesFile = process.env.MOORING_BENCH_HASHES;
  const hashes = hashesFile ? JSON.parse(readFileSync(hashesFile, 'utf8')) as string[] : undefined;
  writeFileSync(registryPath, benchRegistryYaml(users, sinkUrl, hashes));
  const config = configFromEnv(process.env, {
    registryPath, dataDir: dir, host: '127.0.0.1', mqttPort: port, mqttWsPort: 0, ingressPort: 0, apiPort: 0,
    httpPort: Number(process.env.MOORING_BENCH_HTTP_PORT ?? '0'),
    mqttIntegrationPort: 0, mqttIntegrationWsPort: 0, wsIntegrationPort: 0,
    logLevel: 'silent', stopDrainMs: 200,
  });
  // The command API's user, with an access token in the store the API opens (`<dir>/tokens.json`).
  const { openTokenStore, demoAccessToken, DEMO_USER } = await import('../../api/index.ts');
  if (DEMO_USER.id !== BENCH_USER) throw new Error(`the demo user is ${DEMO_USER.id}, not ${BENCH_USER}`);
  const user = await demoAccessToken(await openTokenStore(dir), dir);
  const mooring = await startMooring(config, { logger: silentLogger });
  const api = { url: `http://127.0.0.1:${mooring.api.port}`, user: user.username, token: user.token, application: 'bench' };
  say({ event: 'listening', port: mooring.mqtt.mqtt?.port ?? port, api, integrationPort: mooring.mqttIntegrationAddresses?.mqtt?.port });

  const payload = Buffer.from('{"temp":21.5,"pad":"' + 'x'.repeat(78) + '"}');
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const m = /^inject (\d+)$/.exec(line.trim());
    if (!m) return;
    void (async () => {
      const n = Number(m[1]);
      const devices = Math.max(1, Math.min(users, 100));
      for (let i = 0; i < n; i += 500) {
        const batch: CloudEvent[] = [];
        for (let k = i; k < Math.min(n, i + 500); k++) batch.push(deviceEvent(k, devices, payload));
        await mooring.bus.publish(batch);
      }
      say({ event: 'injected', n });
    })().catch((e: unknown) => say({ event: 'error', message: (e as Error).message }));
  });

  const stop = (): void => {
    setTimeout(() => process.exit(0), 2000).unref(); // before the bench's SIGKILL at 3 s, so a --cpu-prof profile is written
    void mooring.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// Run only as the server process, not when another bench script imports benchRegistryYaml.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(resolve(process.argv[1]))) {
  main().catch((e: unknown) => {
    say({ event: 'error', message: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  });
}
