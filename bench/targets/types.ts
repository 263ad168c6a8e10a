// A system under test, as the orchestrator sees it: Mosquitto, Aedes, Mooring embedded and
// Mooring on Kafka each implement `Target`. A target starts its server in its own process
// pinned to the given core and says how clients authenticate and where deliveries are counted.

import type { CountAt, CredentialPattern, ScenarioName } from '../protocol.ts';

export type TargetName = 'mosquitto' | 'aedes' | 'mooring' | 'mooring-kafka';

export const TARGETS: readonly TargetName[] = ['mosquitto', 'aedes', 'mooring', 'mooring-kafka'];

export interface StartOptions {
  /** Core the server is pinned to. */
  cpu: number;
  /** Require password authentication (the connections scenario); Mooring always authenticates. */
  auth: boolean;
  /** How many distinct clients must be able to authenticate (connection i uses identity i). */
  users: number;
  /** Where the local application sink listens (Mooring delivers there; brokers ignore it). */
  sinkPort: number;
  /** A scratch directory for configuration files, removed after the run. */
  workDir: string;
  /** Node targets: write a V8 CPU profile of the server process here (`node --cpu-prof`). */
  cpuProfDir?: string | undefined;
}

export interface RunningTarget {
  port: number;
  /** The server process (its RSS is the memory figure). */
  pid: number;
  /** Identity of connection i (`{i}` replaced by the index). */
  credentials: CredentialPattern;
  /** The HTTP device endpoint's port, for targets that have one (the http scenario). */
  httpPort?: number;
  /** The topic publishers use. */
  topic: string;
  /** Where ingest is counted: a subscriber on `#` (brokers) or the application sink (Mooring). */
  countAt: CountAt;
  /** Push sink scenario: puts `n` device events into the bus for delivery to the sink. */
  inject?(n: number): Promise<void>;
  /** Command round trip scenario: the command API and a user who may send commands to `application`. */
  api?: { url: string; user: string; token: string; application: string };
  stop(): Promise<void>;
}

export interface Target {
  name: TargetName;
  /** Undefined when the target can run here, otherwise why not (printed in its rows). */
  unavailable(): Promise<string | undefined>;
  /** Version string for docs/benchmarks.md. */
  version(): Promise<string>;
  supports(scenario: ScenarioName): boolean;
  start(options: StartOptions): Promise<RunningTarget>;
  /** Releases what the target kept between runs (e.g. a Kafka it started). */
  dispose?(): Promise<void>;
}

/** Identity pattern for the brokers: anonymous client ids, or user dev{i} with password pw-{i}. */
export function brokerCredentials(auth: boolean): CredentialPattern {
  return auth
    ? { clientId: 'bench-{i}', username: 'dev{i}', password: 'pw-{i}' }
    : { clientId: 'bench-{i}' };
}

/** node arguments for a server script, with `--cpu-prof` when a profile is asked for. */
export function nodeArgs(script: string, cpuProfDir: string | undefined): string[] {
  return [...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []), '--import', 'tsx', script];
}
