// Mooring's configuration, read once from the environment at start-up, validated and frozen.
// Every variable is documented in the README's configuration table.

import { MooringError } from '../events/errors.ts';

export interface Config {
  /** Registry file; undefined means the demo registry in `dataDir`. */
  registryPath: string | undefined;
  dataDir: string;
  host: string;
  mqttPort: number;
  mqttsPort: number;
  mqttWsPort: number;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  ingressPort: number;
  /** Port of the demo application's sink; only started with the demo registry. */
  demoSinkPort: number;
  kafkaBrokers: string[] | undefined;
  /** Single-host mode: also write each application's final events to `events-<app>`. */
  kafkaAppTopics: boolean;
  instance: string;
  logLevel: string;
  maxPacketSize: number;
  maxConnections: number;
  /** Directory holding the Knative manifests the embedded broker executes. */
  knativeDir: string;
  /** Embedded mode: how long a stop lets deliveries continue before spooling the rest to `dataDir`. */
  stopDrainMs: number;
}

type Env = Record<string, string | undefined>;

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new MooringError('MOORING_INVALID_CONFIG', `${name} must be a port number (0-65535), got ${JSON.stringify(raw)}`);
  }
  return n;
}

function positive(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    throw new MooringError('MOORING_INVALID_CONFIG', `${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function flag(env: Env, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new MooringError('MOORING_INVALID_CONFIG', `${name} must be 1/true or 0/false, got ${JSON.stringify(raw)}`);
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function configFromEnv(env: Env = process.env, overrides: Partial<Config> = {}): Readonly<Config> {
  const logLevel = env.MOORING_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.has(logLevel)) {
    throw new MooringError('MOORING_INVALID_CONFIG', `MOORING_LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}`);
  }
  const brokers = env.MOORING_KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter((b) => b !== '');
  const tlsCert = env.MOORING_TLS_CERT || undefined;
  const tlsKey = env.MOORING_TLS_KEY || undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new MooringError('MOORING_INVALID_CONFIG', 'MOORING_TLS_CERT and MOORING_TLS_KEY go together');
  }
  const kafkaAppTopics = flag(env, 'MOORING_KAFKA_APP_TOPICS');
  if (kafkaAppTopics && !(brokers && brokers.length > 0)) {
    throw new MooringError('MOORING_INVALID_CONFIG', 'MOORING_KAFKA_APP_TOPICS needs MOORING_KAFKA_BROKERS');
  }
  const config: Config = {
    registryPath: env.MOORING_REGISTRY || undefined,
    dataDir: env.MOORING_DATA_DIR || './.mooring',
    host: env.MOORING_HOST || '0.0.0.0',
    mqttPort: port(env, 'MOORING_MQTT_PORT', 1883),
    mqttsPort: port(env, 'MOORING_MQTTS_PORT', 8883),
    mqttWsPort: port(env, 'MOORING_MQTT_WS_PORT', 8083),
    tlsCert,
    tlsKey,
    ingressPort: port(env, 'MOORING_INGRESS_PORT', 8081),
    demoSinkPort: port(env, 'MOORING_DEMO_SINK_PORT', 8088),
    kafkaBrokers: brokers && brokers.length > 0 ? brokers : undefined,
    kafkaAppTopics,
    instance: env.MOORING_INSTANCE || 'drogue',
    logLevel,
    maxPacketSize: positive(env, 'MOORING_MQTT_MAX_PACKET_SIZE', 16 * 1024),
    maxConnections: positive(env, 'MOORING_MQTT_MAX_CONNECTIONS', 19_000),
    knativeDir: env.MOORING_KNATIVE_DIR || new URL('../knative', import.meta.url).pathname,
    stopDrainMs: positive(env, 'MOORING_STOP_DRAIN_MS', 5000),
    ...overrides,
  };
  return Object.freeze(config);
}
