// What the orchestrator (bench/run.ts) and the load generator process (bench/loadgen.ts) say to
// each other: a job description passed as JSON in argv, and JSON lines back on stdout. The
// "connections" job pauses at `idle` until the orchestrator, having read the system under test's
// RSS, writes `release` to the generator's stdin; it then disconnects every connection and
// connects the same identities again (the reconnect pass).

export type ScenarioName = 'qos0' | 'qos1' | 'qos1-rate' | 'connections' | 'push-sink' | 'integration';

export const SCENARIOS: readonly ScenarioName[] = ['qos0', 'qos1', 'qos1-rate', 'connections', 'push-sink', 'integration'];

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

export interface ConnectionsJob extends JobBase {
  scenario: 'connections';
  connections: number;
  /** Connects in flight at once. */
  concurrency: number;
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
}

export type Job = IngestJob | RateJob | ConnectionsJob | SinkJob | IntegrationJob;

/** Figures a job measured; absent ones do not apply. */
export interface Measurement {
  /** Messages per second received at the counting point (ingest), or acknowledged (qos1). */
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
