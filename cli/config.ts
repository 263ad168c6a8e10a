// Mooring's configuration: the one module that reads the environment. VARIABLES is the table of
// every variable (name, default, check, meaning); configFromEnv parses and validates them all at
// start-up and returns a frozen, typed Config that the entry points pass down as options.
// README.md's configuration table lists exactly these variables (a test keeps the two equal).

import { fileURLToPath } from 'node:url';
import { isMooringError, MooringError } from '../events/errors.ts';

export interface Config {
  /** Registry file; undefined means the demo registry in `dataDir`. */
  registryPath: string | undefined;
  dataDir: string;
  host: string;
  mqttPort: number;
  mqttsPort: number;
  mqttWsPort: number;
  /** The HTTP device endpoint (Drogue's http-endpoint, TTN webhooks). */
  httpPort: number;
  /** The HTTP device endpoint over TLS, when a server certificate is configured. */
  httpsPort: number;
  /** Longest `ct` (command wait) of an HTTP device request, seconds. */
  httpMaxCommandWait: number;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  ingressPort: number;
  /** Port of the demo application's sink; only started with the demo registry. */
  demoSinkPort: number;
  kafkaBrokers: string[] | undefined;
  /** Single-host mode: also write each application's final events to `events-<app>`. */
  kafkaAppTopics: boolean;
  /** DynamoDB endpoint (e.g. DynamoDB Local); undefined: the region's AWS endpoint. */
  dynamodbEndpoint: string | undefined;
  dynamodbRegion: string;
  /** Prefix of the registry's DynamoDB tables (`<prefix>applications`, …). */
  dynamodbTablePrefix: string;
  instance: string;
  logLevel: LogLevel;
  maxPacketSize: number;
  maxConnections: number;
  /** Process-wide quota defaults (docs/quotas.md); an application's `spec.limits` overrides each; 0 = unlimited. */
  quotaAppConnections: number;
  quotaAppMessagesPerSecond: number;
  quotaAppBytesPerSecond: number;
  quotaAppCommandsPerSecond: number;
  quotaDeviceConnections: number;
  quotaDeviceMessagesPerSecond: number;
  quotaDeviceBytesPerSecond: number;
  /** Admission at accept (connectors/net/admission.ts), shared by every device-facing listener. */
  maxConnectionsPerSource: number;
  maxPendingHandshakes: number;
  limitLoopback: boolean;
  handshakeTimeoutMs: number;
  /** Slowloris bounds of every HTTP server (device endpoint, API, ingress). */
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  /** A connection's outgoing queue (MQTT devices and integration, WebSocket integration): bound and stall timeout. */
  maxOutgoingBytes: number;
  writeStallMs: number;
  /** Directory holding the Knative manifests the embedded broker executes. */
  knativeDir: string;
  /** The function a functions-image process serves (cli/function.ts); unused by `npm start`. */
  functionName: string | undefined;
  /** The port a functions-image process listens on; Knative Serving sets `PORT` for a Service. */
  port: number;
  /** Embedded mode: how long a stop lets deliveries continue before spooling the rest to `dataDir`. */
  stopDrainMs: number;
  /** How long an instance's hold on its devices' connections lasts without a renewal (the connection directory's lease). */
  connectionTtlMs: number;
  /** The management API (Drogue's registry, tokens, discovery). */
  apiPort: number;
  /** The MQTT integration (applications consume their stream, send commands): TCP, TLS, WebSocket. */
  mqttIntegrationPort: number;
  mqttIntegrationTlsPort: number;
  mqttIntegrationWsPort: number;
  /** The WebSocket integration (`drg stream`). */
  wsIntegrationPort: number;
  /** The API's public base URL, advertised by discovery; undefined: taken from each request's Host. */
  apiUrl: string | undefined;
  /** External OpenID issuer of user tokens; undefined: access tokens only, the API serves a stub discovery. */
  oidcIssuer: string | undefined;
  /** The OAuth client id user JWTs must name in `aud` (and `azp` when present). */
  oidcClientId: string;
  /** The controller's kubeconfig; undefined: the pod's service account (in the cluster). */
  kubeconfig: string | undefined;
  /** The namespace the controller keeps the applications' push Triggers in. */
  kubeNamespace: string;
  /** The controller's full resync period. */
  controllerResyncMs: number;
  /** OTLP/HTTP traces URL spans are exported to; undefined: no spans, only the traceparent ids. */
  otlpEndpoint: string | undefined;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Env = Readonly<Record<string, string | undefined>>;

/** One environment variable: where it goes in Config, its default, its check and its meaning. */
export interface Variable {
  readonly name: string;
  readonly key: keyof Config;
  /** Used when the variable is unset or empty, as text that passes `parse`; undefined: no value. */
  readonly default: string | undefined;
  /** How the README shows the default when it is not a literal value, e.g. `(none)`. */
  readonly shownDefault: string | undefined;
  readonly description: string;
  /** Turns a set value into its Config value; throws MOORING_INVALID_CONFIG naming the variable. */
  readonly parse: (raw: string, name: string) => Config[keyof Config];
}

type Parse<T> = (raw: string, name: string) => T;

function invalid(name: string, expected: string, raw: string): MooringError {
  return new MooringError('MOORING_INVALID_CONFIG', `${name} must be ${expected}, got ${JSON.stringify(raw)}`);
}

const text: Parse<string> = (raw) => raw;

const portNumber: Parse<number> = (raw, name) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n > 65535) throw invalid(name, 'a port number (0-65535)', raw);
  return n;
};

const positiveInteger: Parse<number> = (raw, name) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n <= 0) throw invalid(name, 'a positive integer', raw);
  return n;
};

const nonNegativeInteger: Parse<number> = (raw, name) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) throw invalid(name, 'a non-negative integer (0 = unlimited)', raw);
  return n;
};

/** A rate per second: a non-negative decimal number (0 = unlimited). */
const rate: Parse<number> = (raw, name) => {
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !Number.isFinite(n)) throw invalid(name, 'a non-negative number (0 = unlimited)', raw);
  return n;
};

const flag: Parse<boolean> = (raw, name) => {
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw invalid(name, '1/true or 0/false', raw);
};

const logLevel: Parse<LogLevel> = (raw, name) => {
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw invalid(name, `one of ${LOG_LEVELS.join(', ')}`, raw);
  return raw as LogLevel;
};

/** `host:port[,host:port…]`; blanks and a trailing comma are ignored. */
const brokerList: Parse<string[]> = (raw, name) => {
  const brokers = raw.split(',').map((b) => b.trim()).filter((b) => b !== '');
  if (brokers.length === 0 || brokers.some((b) => !/^\S+:\d{1,5}$/.test(b))) {
    throw invalid(name, 'a comma-separated list of host:port', raw);
  }
  return brokers;
};

/** An absolute http(s) URL, as given (an OIDC issuer must equal its tokens' `iss` exactly). */
const httpUrl: Parse<string> = (raw, name) => {
  let url: URL;
  try { url = new URL(raw); } catch { throw invalid(name, 'an http(s) URL', raw); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(name, 'an http(s) URL', raw);
  return raw;
};

/** DynamoDB table names: [a-zA-Z0-9_.-]; the prefix leaves room for the longest suffix (255 in all). */
const tablePrefix: Parse<string> = (raw, name) => {
  if (!/^[A-Za-z0-9_.-]{0,200}$/.test(raw)) throw invalid(name, 'up to 200 characters of [A-Za-z0-9_.-]', raw);
  return raw;
};

/**
 * One table entry, typed against Config: `parse` yields the field's type, and a variable may lack
 * a default only when its field can be undefined.
 */
function variable<K extends keyof Config>(spec: {
  name: string;
  key: K;
  default: undefined extends Config[K] ? string | undefined : string;
  shownDefault?: string;
  parse: Parse<Exclude<Config[K], undefined>>;
  description: string;
}): Variable {
  return Object.freeze({ shownDefault: undefined, ...spec });
}

const KNATIVE_DIR = fileURLToPath(new URL('../knative', import.meta.url));

/** Every variable Mooring reads, in the order of the README's table. */
export const VARIABLES: readonly Variable[] = Object.freeze([
  variable({ name: 'MOORING_REGISTRY', key: 'registryPath', default: undefined, shownDefault: '(demo file)', parse: text,
    description: 'YAML registry file (Drogue `Application`/`Device` documents); edits apply live' }),
  variable({ name: 'MOORING_DATA_DIR', key: 'dataDir', default: './.mooring', parse: text,
    description: 'where the demo registry, dead letters and the stop spool (`spool/`) are kept' }),
  variable({ name: 'MOORING_MQTT_PORT', key: 'mqttPort', default: '1883', parse: portNumber,
    description: 'MQTT over TCP' }),
  variable({ name: 'MOORING_MQTTS_PORT', key: 'mqttsPort', default: '8883', parse: portNumber,
    description: 'MQTT over TLS (when `MOORING_TLS_CERT` and `MOORING_TLS_KEY` are set)' }),
  variable({ name: 'MOORING_MQTT_WS_PORT', key: 'mqttWsPort', default: '8083', parse: portNumber,
    description: 'MQTT over WebSocket (subprotocol `mqtt`, any path)' }),
  variable({ name: 'MOORING_HTTP_PORT', key: 'httpPort', default: '8088', parse: portNumber,
    description: 'the HTTP device endpoint: `POST /v1/<channel>`, TTN webhooks `/ttn`, `/ttn/v2`, `/ttn/v3`' }),
  variable({ name: 'MOORING_HTTPS_PORT', key: 'httpsPort', default: '8443', parse: portNumber,
    description: 'the HTTP device endpoint over TLS (when `MOORING_TLS_CERT` and `MOORING_TLS_KEY` are set; client certificates and TLS-PSK)' }),
  variable({ name: 'MOORING_HTTP_MAX_COMMAND_WAIT', key: 'httpMaxCommandWait', default: '60', parse: positiveInteger,
    description: 'the longest `ct` (seconds) an HTTP device request waits for a command; a longer `ct` waits this long' }),
  variable({ name: 'MOORING_INGRESS_PORT', key: 'ingressPort', default: '8081', parse: portNumber,
    description: 'broker ingress: POST a CloudEvent (binary or structured) into the bus' }),
  variable({ name: 'MOORING_DEMO_SINK_PORT', key: 'demoSinkPort', default: '8089', parse: portNumber,
    description: 'the demo application\'s sink (prints the events it receives)' }),
  variable({ name: 'MOORING_KAFKA_BROKERS', key: 'kafkaBrokers', default: undefined, parse: brokerList,
    description: 'use Kafka as the bus (single-host mode), comma-separated `host:port`' }),
  variable({ name: 'MOORING_KAFKA_APP_TOPICS', key: 'kafkaAppTopics', default: '0', parse: flag,
    description: 'with Kafka: also write each application\'s events to `events-<app>` ([docs/kafka.md](docs/kafka.md))' }),
  variable({ name: 'MOORING_DYNAMODB_ENDPOINT', key: 'dynamodbEndpoint', default: undefined, parse: httpUrl,
    description: 'DynamoDB endpoint URL for the registry tables (e.g. DynamoDB Local `http://127.0.0.1:8000`)' }),
  variable({ name: 'MOORING_DYNAMODB_REGION', key: 'dynamodbRegion', default: 'us-east-1', parse: text,
    description: 'the AWS region of the DynamoDB registry tables' }),
  variable({ name: 'MOORING_DYNAMODB_TABLE_PREFIX', key: 'dynamodbTablePrefix', default: 'mooring-', parse: tablePrefix,
    description: 'prefix of the DynamoDB registry tables (`<prefix>applications`, `devices`, `aliases`, `changes`)' }),
  variable({ name: 'MOORING_MQTT_MAX_PACKET_SIZE', key: 'maxPacketSize', default: '16384', parse: positiveInteger,
    description: 'Maximum Packet Size announced and enforced' }),
  variable({ name: 'MOORING_MQTT_MAX_CONNECTIONS', key: 'maxConnections', default: '19000', parse: positiveInteger,
    description: 'connections beyond this are refused' }),
  variable({ name: 'MOORING_QUOTA_APP_CONNECTIONS', key: 'quotaAppConnections', default: '0', parse: nonNegativeInteger,
    description: 'default quota ([docs/quotas.md](docs/quotas.md)): connections per application (MQTT connections and HTTP requests in progress); `spec.limits.application.connections` overrides; 0 = unlimited' }),
  variable({ name: 'MOORING_QUOTA_APP_MESSAGES_PER_SECOND', key: 'quotaAppMessagesPerSecond', default: '0', parse: rate,
    description: 'default quota: device messages per second per application (`spec.limits.application.messagesPerSecond`); 0 = unlimited' }),
  variable({ name: 'MOORING_QUOTA_APP_BYTES_PER_SECOND', key: 'quotaAppBytesPerSecond', default: '0', parse: rate,
    description: 'default quota: payload bytes per second per application (`spec.limits.application.bytesPerSecond`); 0 = unlimited' }),
  variable({ name: 'MOORING_QUOTA_APP_COMMANDS_PER_SECOND', key: 'quotaAppCommandsPerSecond', default: '0', parse: rate,
    description: 'default quota: commands per second per application, command API and MQTT integration (`spec.limits.application.commandsPerSecond`); 0 = unlimited' }),
  variable({ name: 'MOORING_QUOTA_DEVICE_CONNECTIONS', key: 'quotaDeviceConnections', default: '0', parse: nonNegativeInteger,
    description: 'default quota: connections per device (`spec.limits.device.connections`); 0 = unlimited' }),
  variable({ name: 'MOORING_QUOTA_DEVICE_MESSAGES_PER_SECOND', key: 'quotaDeviceMessagesPerSecond', default: '0', parse: rate,
    description: 'default quota: messages per second per device (`spec.limits.device.messagesPerSecond`); 0 = unlimited' }),
  variable({ name: 'MOORING_QUOTA_DEVICE_BYTES_PER_SECOND', key: 'quotaDeviceBytesPerSecond', default: '0', parse: rate,
    description: 'default quota: payload bytes per second per device (`spec.limits.device.bytesPerSecond`); 0 = unlimited' }),
  variable({ name: 'MOORING_MAX_CONNECTIONS_PER_SOURCE', key: 'maxConnectionsPerSource', default: '1000', parse: nonNegativeInteger,
    description: 'open connections from one source address, all device-facing listeners together (MQTT, HTTP, the integrations); more are reset at accept; 0: no bound ([docs/security.md](docs/security.md))' }),
  variable({ name: 'MOORING_MAX_PENDING_HANDSHAKES', key: 'maxPendingHandshakes', default: '1000', parse: nonNegativeInteger,
    description: 'accepted connections not open yet (TLS handshake, WebSocket upgrade, MQTT CONNECT, first HTTP request), all listeners together; more are reset at accept; 0: no bound' }),
  variable({ name: 'MOORING_LIMIT_LOOPBACK', key: 'limitLoopback', default: '0', parse: flag,
    description: 'apply the two bounds above to loopback sources (127.0.0.0/8, ::1) too; by default they are exempt (benchmarks, sidecar proxies)' }),
  variable({ name: 'MOORING_HANDSHAKE_TIMEOUT_MS', key: 'handshakeTimeoutMs', default: '10000', parse: positiveInteger,
    description: 'a TLS handshake, or a WebSocket upgrade request, must complete within this' }),
  variable({ name: 'MOORING_HTTP_HEADERS_TIMEOUT_MS', key: 'httpHeadersTimeoutMs', default: '10000', parse: positiveInteger,
    description: 'HTTP device endpoint, management API, ingress: a request\'s headers must arrive within this (else 408)' }),
  variable({ name: 'MOORING_HTTP_REQUEST_TIMEOUT_MS', key: 'httpRequestTimeoutMs', default: '30000', parse: positiveInteger,
    description: 'the same servers: the whole request, body included, must arrive within this (else 408)' }),
  variable({ name: 'MOORING_MAX_OUTGOING_BYTES', key: 'maxOutgoingBytes', default: '1048576', parse: positiveInteger,
    description: 'bytes a connection may have unsent (MQTT commands, the integrations\' streams); past it the client is disconnected as a slow consumer' }),
  variable({ name: 'MOORING_WRITE_STALL_MS', key: 'writeStallMs', default: '30000', parse: positiveInteger,
    description: 'an MQTT connection (device or integration) whose unsent bytes do not shrink for this long is disconnected as a slow consumer' }),
  variable({ name: 'MOORING_STOP_DRAIN_MS', key: 'stopDrainMs', default: '5000', parse: positiveInteger,
    description: 'embedded mode: on SIGTERM/SIGINT deliveries continue this long; what is left is spooled to `MOORING_DATA_DIR/spool/` and delivered first on the next start' }),
  variable({ name: 'MOORING_CONNECTION_TTL_MS', key: 'connectionTtlMs', default: '10000', parse: positiveInteger,
    description: 'the lease of an instance on its devices\' connections, renewed every third of it; with Kafka and DynamoDB, another instance says goodbye (Wills, `connected:false`) for an instance silent this long' }),
  variable({ name: 'MOORING_TLS_CERT', key: 'tlsCert', default: undefined, parse: text,
    description: 'server certificate (PEM text or file path); with `MOORING_TLS_KEY`, enables the TLS listener' }),
  variable({ name: 'MOORING_TLS_KEY', key: 'tlsKey', default: undefined, parse: text,
    description: 'the certificate\'s private key (PEM text or file path)' }),
  variable({ name: 'MOORING_HOST', key: 'host', default: '0.0.0.0', parse: text,
    description: 'the address the listeners bind' }),
  variable({ name: 'MOORING_INSTANCE', key: 'instance', default: 'drogue', parse: text,
    description: 'the `instance` extension on device events' }),
  variable({ name: 'MOORING_LOG_LEVEL', key: 'logLevel', default: 'info', parse: logLevel,
    description: `pino log level: ${LOG_LEVELS.join(', ')}` }),
  variable({ name: 'MOORING_KNATIVE_DIR', key: 'knativeDir', default: KNATIVE_DIR, shownDefault: '`knative/` of this checkout', parse: text,
    description: 'the Knative manifests (Broker, Triggers, templates) the embedded broker executes' }),
  variable({ name: 'MOORING_FUNCTION', key: 'functionName', default: undefined, parse: text,
    description: 'the function `npm run function` serves: `normalize`, `content-type` or `authz`' }),
  variable({ name: 'MOORING_API_PORT', key: 'apiPort', default: '8011', parse: portNumber,
    description: 'the management API (Drogue\'s registry, admin, access tokens and discovery; what `drg` talks to)' }),
  variable({ name: 'MOORING_MQTT_INTEGRATION_PORT', key: 'mqttIntegrationPort', default: '18883', parse: portNumber,
    description: 'the MQTT integration: applications subscribe to `app/<app>` (shared groups, QoS 1) and publish commands' }),
  variable({ name: 'MOORING_MQTT_INTEGRATION_TLS_PORT', key: 'mqttIntegrationTlsPort', default: '18884', parse: portNumber,
    description: 'the MQTT integration over TLS (when `MOORING_TLS_CERT` and `MOORING_TLS_KEY` are set)' }),
  variable({ name: 'MOORING_MQTT_INTEGRATION_WS_PORT', key: 'mqttIntegrationWsPort', default: '18083', parse: portNumber,
    description: 'the MQTT integration over WebSocket (subprotocol `mqtt`)' }),
  variable({ name: 'MOORING_WS_INTEGRATION_PORT', key: 'wsIntegrationPort', default: '10002', parse: portNumber,
    description: 'the WebSocket integration: `GET /<app>[/<channel>]` streams the application\'s events (`drg stream`)' }),
  variable({ name: 'MOORING_API_URL', key: 'apiUrl', default: undefined, shownDefault: '(from the request)', parse: httpUrl,
    description: 'the API\'s public base URL, advertised by `/.well-known/drogue-endpoints`' }),
  variable({ name: 'MOORING_OIDC_ISSUER', key: 'oidcIssuer', default: undefined, parse: httpUrl,
    description: 'OpenID issuer of user JWTs (its JWKS is discovered); unset: access tokens only' }),
  variable({ name: 'MOORING_OIDC_CLIENT_ID', key: 'oidcClientId', default: 'drogue', parse: text,
    description: 'the client id user JWTs must carry in `aud` (and `azp`)' }),
  variable({ name: 'MOORING_KUBECONFIG', key: 'kubeconfig', default: undefined, shownDefault: '(in-cluster service account)', parse: text,
    description: 'the controller (`npm run controller`): the kubeconfig file of the cluster it manages' }),
  variable({ name: 'MOORING_KUBE_NAMESPACE', key: 'kubeNamespace', default: 'default', parse: text,
    description: 'the controller: the namespace of the applications\' push Triggers (that of the Broker `mooring`)' }),
  variable({ name: 'MOORING_CONTROLLER_RESYNC_MS', key: 'controllerResyncMs', default: '300000', parse: positiveInteger,
    description: 'the controller: every application and owned Trigger is reconciled again this often (besides each registry change)' }),
  variable({ name: 'PORT', key: 'port', default: '8080', parse: portNumber,
    description: 'the port `npm run function` listens on (Knative Serving sets it for a Service); `npm run controller` serves `/metrics` and `/health/*` on it' }),
  variable({ name: 'MOORING_OTLP_ENDPOINT', key: 'otlpEndpoint', default: undefined, parse: httpUrl,
    description: 'OTLP/HTTP traces URL (e.g. `http://collector:4318/v1/traces`): spans of publishes and deliveries are exported there (OTLP/HTTP JSON); unset: no spans, events still carry `traceparent`' }),
]);

/** Checks that span variables. */
function checkTogether(c: Config): void {
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    throw new MooringError('MOORING_INVALID_CONFIG', 'MOORING_TLS_CERT and MOORING_TLS_KEY go together');
  }
  if (c.kafkaAppTopics && !c.kafkaBrokers) {
    throw new MooringError('MOORING_INVALID_CONFIG', 'MOORING_KAFKA_APP_TOPICS needs MOORING_KAFKA_BROKERS');
  }
}

/**
 * Reads every variable of VARIABLES from `env` (an empty value counts as unset), validates it and
 * returns the frozen Config; `overrides` replace fields afterwards (tests, the benchmark).
 * Throws MooringError MOORING_INVALID_CONFIG naming the variable.
 */
export function configFromEnv(env: Env = process.env, overrides: Partial<Config> = {}): Readonly<Config> {
  const values: Record<string, unknown> = {};
  for (const v of VARIABLES) {
    const raw = env[v.name];
    const given = raw === undefined || raw === '' ? v.default : raw;
    values[v.key] = given === undefined ? undefined : v.parse(given, v.name);
  }
  const config = values as unknown as Config;
  checkTogether(config);
  return Object.freeze({ ...config, ...overrides });
}

/** Variables an earlier release read, with what replaced them. */
export const RENAMED: Readonly<Record<string, string>> = { LOG_LEVEL: 'MOORING_LOG_LEVEL' };

/**
 * What an entry point warns about at start-up: a renamed variable set under its old name only
 * (it is not read, so a silently ignored setting would surprise its author).
 */
export function configWarnings(env: Env = process.env): string[] {
  const out: string[] = [];
  for (const [old, now] of Object.entries(RENAMED)) {
    if (env[old] !== undefined && env[old] !== '' && (env[now] === undefined || env[now] === '')) {
      out.push(`${old} is set but not read; Mooring reads ${now} (set it instead)`);
    }
  }
  return out;
}

/** What an entry point prints when it cannot start: the code of a MooringError, then its message. */
export function describeStartError(err: unknown): string {
  if (isMooringError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** The parts of Mooring a process can serve (the image's entry point: `mooring [part[,part…]]`). */
export const PARTS = ['gateway', 'http', 'api', 'integrations'] as const;
export type Part = (typeof PARTS)[number];

/**
 * The parts named by the entry point's arguments (`gateway`, `gateway,http`, `gateway http`);
 * none, or `all`: every part (one process, as `npm start`). Throws MOORING_INVALID_CONFIG for an
 * unknown name.
 */
export function partsFromArgs(args: readonly string[]): ReadonlySet<Part> {
  const names = args.flatMap((a) => a.split(',')).map((a) => a.trim()).filter((a) => a !== '');
  if (names.length === 0 || (names.length === 1 && names[0] === 'all')) return new Set(PARTS);
  for (const name of names) {
    if (!(PARTS as readonly string[]).includes(name)) {
      throw new MooringError('MOORING_INVALID_CONFIG', `unknown part ${JSON.stringify(name)}; one of: all, ${PARTS.join(', ')}, function, controller`);
    }
  }
  return new Set(names as Part[]);
}
