// What the orchestrator (bench/run.ts) and the load generator process (bench/loadgen.ts) say to
// each other: a job description passed as JSON in argv, and JSON lines back on stdout. The
// "connections" job pauses at `idle` until the orchestrator, having read the system under test's
// RSS, writes `release` to the generator's stdin; it then disconnects every connection and
// connects the same identities again (the reconnect pass).

export type ScenarioName = 'qos0' | 'qos1' | 'qos1-rate' | 'http' | 'connections' | 'push-sink' | 'command-rtt' | 'integration';

export const SCENARIOS: readonly ScenarioName[] = ['qos0', 'qos1', 'qos1-rate', 'http', 'connections', 'push-sink', 'command-rtt', 'integration'];

/** How connection number `i` authenticates: `{i}` in a pattern is replaced by the index. */
export interface CredentialPattern {
  clientId: string;
  username?: string;
  password?: string;
}

/** Where delivered messages are counted. */
export type CountAt =
  | { kind: 'subscriber'; filter: string }
  | { kind: 'sink'; port: number }
  | { kind: 'none' };

export interface JobBase {
  port: number;
  credentials: CredentialPattern;
  /** The whole job stops by itself after this long. */
  timeLimitMs: number;
}

export interface IngestJob extends JobBase {
  scenario: 'qos0' | 'qos1';
  topic: string;
  publishers: number;
  messagesPerPublisher: number;
  payloadBytes: number;
  /** QoS 1: unacknowledged messages per connection. */
  window: number;
  countAt: CountAt;
}

export interface RateJob extends JobBase {
  scenario: 'qos1-rate';
  topic: string;
  publishers: number;
  ratePerSecond: number;
  durationMs: number;
  payloadBytes: number;
  countAt: CountAt;
}

/** HTTP ingest: keep-alive clients, each one POST at a time, until each got N answers. */
export interface HttpJob extends JobBase {
  scenario: 'http';
  /** The HTTP device endpoint's port (`port` is the MQTT one). */
  httpPort: number;
  /** `/v1/<channel>` */
  path: string;
  clients: number;
  /** Client i authenticates as identity i % identities (the target's registered devices). */
  identities: number;
  messagesPerClient: number;
  payloadBytes: number;
  countAt: CountAt;
}

export interface ConnectionsJob extends JobBase {
  scenario: 'connections';
  connections: number;
  /** Connects in flight at once. */
  concurrency: number;
  /** bench/connect-gen's binary: when set, it opens the connections instead of node sockets. */
  connectGen?: string;
}

export interface SinkJob extends JobBase {
  scenario: 'push-sink';
  expected: number;
  sinkPort: number;
}

/** Events injected into the bus, counted at a QoS 1 subscriber of the MQTT integration (`app/bench`). */
export interface IntegrationJob extends JobBase {
  scenario: 'integration';
  expected: number;
  integrationPort: number;
  /** The application's push sink is there too: it is answered, not counted. */
  sinkPort: number;
  /** The application's owner (an access token login), when it has one. */
  user?: { username: string; token: string };
}

/**
 * Request/response commands (Mooring only): an application POSTs `?timeout=` commands to the
 * command API one after another; device 0 (MQTT 3.1.1) answers each on `command/reply/<id>`.
 */
export interface CommandJob extends JobBase {
  scenario: 'command-rtt';
  commands: number;
  /** The command API: base URL and Basic credentials of a user who may send commands. */
  api: { url: string; user: string; token: string; application: string };
}

export type Job = IngestJob | RateJob | HttpJob | ConnectionsJob | SinkJob | CommandJob | IntegrationJob;

/** Figures a job measured; absent ones do not apply. */
export interface Measurement {
  /** Messages per second received at the counting point (ingest), or acknowledged (qos1, http: 202s). */
  throughput?: number;
  /** Messages published / acknowledged / delivered, for the record. */
  sent?: number;
  acked?: number;
  delivered?: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  /** qos1-rate: the rate actually offered. */
  offeredRate?: number;
  /** connections: the first pass (each identity's first connect: a cold password hash check). */
  connectsPerSecond?: number;
  /** connections: the second pass, after all disconnected (the same identities again). */
  reconnectsPerSecond?: number;
  connected?: number;
  note?: string;
}

export type LoadgenMessage =
  | { event: 'ready'; sinkPort?: number }
  | { event: 'started' }
  | { event: 'idle'; connected: number }
  /** connections: the reconnect pass is over (`started` marked its beginning). */
  | { event: 'reconnected'; connected: number }
  | { event: 'result'; measurement: Measurement }
  | { event: 'error'; message: string };

export function credentialsFor(pattern: CredentialPattern, i: number): { clientId: string; username?: string; password?: string } {
  const fill = (s: string): string => s.replaceAll('{i}', String(i));
  return {
    clientId: fill(pattern.clientId),
    ...(pattern.username !== undefined ? { username: fill(pattern.username) } : {}),
    ...(pattern.password !== undefined ? { password: fill(pattern.password) } : {}),
  };
}
