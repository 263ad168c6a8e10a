// Mooring as a system under test, in its own process: an in-memory registry with one
// application (its push endpoint is the bench's sink) and N devices with passwords, the pipeline
// (bus + knative/ Triggers + functions + push sink) from the composition root, and the MQTT
// gateway in front. Every Mooring part is loaded with a dynamic import, so the bench runs (and
// reports "not available yet") before those parts exist.
//
// Environment: MOORING_BENCH_PORT, MOORING_BENCH_SINK (URL), MOORING_BENCH_USERS,
// MOORING_KAFKA_BROKERS (set: the bus is Kafka). Stdout: JSON lines {"event":"listening",port} /
// {"event":"injected"}; stdin: `inject N` puts N device events straight into the bus (push sink).
// With MOORING_BENCH_CHECK=1 it only checks that the parts exist, prints {"event":"available"} or
// {"event":"unavailable",reason} and exits.

import { randomUUID } from 'node:crypto';
import readline from 'node:readline';
import type { CloudEvent } from '../../events/cloudevent.ts';
import type { EventBus, Logger, RegistryReader } from '../../functions/ports/index.ts';
import { silentLogger } from '../../functions/ports/index.ts';

/**
 * The plug-in points: where the bench finds Mooring's parts, and the shape it expects of each.
 * Kept in one place so the gateway and the composition root can be wired in by editing here.
 */
export const PARTS = {
  /**
   * `createMqttGateway({bus, registry, logger, listeners: {host, port, tlsPort, wsPort}})
   *   → {listen(): Promise<addresses>, close()}` (connectors/mqtt/options.ts: MqttGatewayOptions)
   */
  gateway: { module: '../../connectors/mqtt/index.ts', export: 'createMqttGateway' },
  /** `MemoryRegistry.fromDocuments(documents) → RegistryReader` */
  registry: { module: '../../connectors/registry/memory.ts', export: 'MemoryRegistry' },
  /**
   * `createPipeline({registry, logger, kafkaBrokers?}) → Promise<{bus, close()}>`: the bus with
   * the knative/ Triggers, the in-process functions and the push sinks attached (embedded broker,
   * or Kafka when `kafkaBrokers` is given), as `npm start` composes it.
   */
  pipeline: { module: '../../cli/compose.ts', export: 'createPipeline' },
} as const;

export interface MqttGateway {
  listen(): Promise<unknown>;
  close(): Promise<void>;
}
export type CreateMqttGateway = (options: {
  bus: EventBus; registry: RegistryReader; logger: Logger;
  listeners: { host: string; port: number; tlsPort: false; wsPort: false };
}) => MqttGateway;
export type CreatePipeline = (options: { registry: RegistryReader; logger: Logger; kafkaBrokers?: string[] }) =>
  Promise<{ bus: EventBus; close(): Promise<void> }>;
interface RegistryClass { fromDocuments(documents: readonly unknown[]): RegistryReader }

/** Loads one part; throws an Error naming what is missing. */
async function load<T>(part: { module: string; export: string }): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(part.module) as Record<string, unknown>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(part.module.replace('../../', '')))
      throw new Error(`${part.module.replace('../../', '')} does not exist yet`, { cause: e });
    throw new Error(`${part.module.replace('../../', '')} failed to load: ${(e as Error).message}`, { cause: e });
  }
  const value = mod[part.export];
  if (value === undefined) throw new Error(`${part.module.replace('../../', '')} has no export ${part.export} yet`);
  return value as T;
}

const say = (o: object): void => { process.stdout.write(JSON.stringify(o) + '\n'); };

/** The bench's registry: application `bench` pushing to the sink, devices dev0…dev{n-1} with password pw-{i}. */
export function benchDocuments(users: number, sinkUrl: string): unknown[] {
  const docs: unknown[] = [{
    kind: 'Application', metadata: { name: 'bench' },
    spec: { knative: { endpoint: { url: sinkUrl } } },
  }];
  for (let i = 0; i < users; i++) {
    docs.push({
      kind: 'Device', metadata: { name: `dev${i}`, application: 'bench' },
      spec: { authentication: { credentials: [{ pass: `pw-${i}` }] } },
    });
  }
  return docs;
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
      await load(PARTS.gateway);
      await load(PARTS.registry);
      await load(PARTS.pipeline);
      say({ event: 'available' });
    } catch (e) {
      say({ event: 'unavailable', reason: (e as Error).message });
    }
    process.exit(0);
  }
  const port = Number(process.env.MOORING_BENCH_PORT);
  const users = Number(process.env.MOORING_BENCH_USERS ?? '10');
  const sinkUrl = process.env.MOORING_BENCH_SINK ?? '';
  const kafka = process.env.MOORING_KAFKA_BROKERS;

  const createMqttGateway = await load<CreateMqttGateway>(PARTS.gateway);
  const Registry = await load<RegistryClass>(PARTS.registry);
  const createPipeline = await load<CreatePipeline>(PARTS.pipeline);

  const registry = Registry.fromDocuments(benchDocuments(users, sinkUrl));
  const pipeline = await createPipeline({
    registry, logger: silentLogger, ...(kafka ? { kafkaBrokers: kafka.split(',') } : {}),
  });
  const gateway = createMqttGateway({
    bus: pipeline.bus, registry, logger: silentLogger,
    listeners: { host: '127.0.0.1', port, tlsPort: false, wsPort: false },
  });
  await gateway.listen();
  say({ event: 'listening', port });

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
        await pipeline.bus.publish(batch);
      }
      say({ event: 'injected', n });
    })().catch((e: unknown) => say({ event: 'error', message: (e as Error).message }));
  });

  const stop = (): void => {
    setTimeout(() => process.exit(0), 2000).unref();
    void gateway.close().then(() => pipeline.close()).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  say({ event: 'error', message: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
