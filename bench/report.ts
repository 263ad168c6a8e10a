// The results of a run: the metrics the table shows, how each is read from a measurement, the
// table itself (Markdown, printed and written to docs/benchmarks.md) with min/median/max per
// target and Mooring's ratio to Mosquitto and to Aedes.

import type { Measurement, ScenarioName } from './protocol.ts';
import { spread } from './stats.ts';
import type { TargetName } from './targets/types.ts';

/** A measurement as the orchestrator completes it (memory is read from the server process). */
export interface Observation extends Measurement {
  bytesPerConnection?: number;
  /** Share of one core the server used while the load generator ran (1 = saturated). */
  serverCpu?: number;
  /** connections: the server's CPU time (user + system) during the reconnect pass, per connect (µs). */
  serverUsPerReconnect?: number;
}

export interface Metric {
  key: string;
  scenario: ScenarioName;
  label: string;
  pick: (m: Observation) => number | undefined;
  digits: number;
  lowerIsBetter?: boolean;
}

export function metrics(o: { window: number; rate: number; connections: number; publishers: number }): Metric[] {
  return [
    { key: 'qos0', scenario: 'qos0', label: `QoS 0 ingest, ${o.publishers} publishers (msg/s)`, pick: (m) => m.throughput, digits: 0 },
    { key: 'qos1', scenario: 'qos1', label: `QoS 1 ingest, window ${o.window} (msg/s)`, pick: (m) => m.throughput, digits: 0 },
    { key: 'qos1-p50', scenario: 'qos1', label: `QoS 1 PUBACK p50, window ${o.window} (ms)`, pick: (m) => m.latencyP50Ms, digits: 2, lowerIsBetter: true },
    { key: 'qos1-p99', scenario: 'qos1', label: `QoS 1 PUBACK p99, window ${o.window} (ms)`, pick: (m) => m.latencyP99Ms, digits: 2, lowerIsBetter: true },
    { key: 'rate-p50', scenario: 'qos1-rate', label: `QoS 1 at ${o.rate} msg/s: PUBACK p50 (ms)`, pick: (m) => m.latencyP50Ms, digits: 2, lowerIsBetter: true },
    { key: 'rate-p99', scenario: 'qos1-rate', label: `QoS 1 at ${o.rate} msg/s: PUBACK p99 (ms)`, pick: (m) => m.latencyP99Ms, digits: 2, lowerIsBetter: true },
    { key: 'http', scenario: 'http', label: `HTTP ingest, ${o.publishers * o.window} keep-alive clients (requests/s)`, pick: (m) => m.throughput, digits: 0 },
    { key: 'http-p99', scenario: 'http', label: 'HTTP ingest: p99 to 202 (ms)', pick: (m) => m.latencyP99Ms, digits: 2, lowerIsBetter: true },
    { key: 'conn-mem', scenario: 'connections', label: `memory per idle connection, K=${o.connections} (KB)`, pick: (m) => m.bytesPerConnection === undefined ? undefined : m.bytesPerConnection / 1024, digits: 1, lowerIsBetter: true },
    { key: 'conn-rate', scenario: 'connections', label: 'connects/s with hashed passwords (first)', pick: (m) => m.connectsPerSecond, digits: 0 },
    { key: 'reconn-rate', scenario: 'connections', label: 'connects/s with hashed passwords (reconnect, cache warm)', pick: (m) => m.reconnectsPerSecond, digits: 0 },
    { key: 'reconn-cpu', scenario: 'connections', label: 'server CPU per reconnect (µs, user + system)', pick: (m) => m.serverUsPerReconnect, digits: 0, lowerIsBetter: true },
    { key: 'push', scenario: 'push-sink', label: 'push sink to a local HTTP app (events/s)', pick: (m) => m.throughput, digits: 0 },
    { key: 'cmd-p50', scenario: 'command-rtt', label: 'command round trip p50 (API → device → reply → API, ms)', pick: (m) => m.latencyP50Ms, digits: 2, lowerIsBetter: true },
    { key: 'cmd-p99', scenario: 'command-rtt', label: 'command round trip p99 (API → device → reply → API, ms)', pick: (m) => m.latencyP99Ms, digits: 2, lowerIsBetter: true },
    { key: 'integration', scenario: 'integration', label: 'integration delivery (events/s to an MQTT integration subscriber)', pick: (m) => m.throughput, digits: 0 },
  ];
}

/** Per scenario and target: the observations of each run, or why there are none. */
export class Results {
  readonly runs = new Map<string, Observation[]>();
  readonly missing = new Map<string, string>();
  readonly notes: string[] = [];

  private static key(scenario: ScenarioName, target: TargetName): string { return `${scenario}|${target}`; }

  add(scenario: ScenarioName, target: TargetName, o: Observation): void {
    const k = Results.key(scenario, target);
    this.runs.set(k, [...(this.runs.get(k) ?? []), o]);
  }
  /** Records why a cell has no figure ("n/a", "not available yet: …", "failed: …"). */
  skip(scenario: ScenarioName, target: TargetName, why: string): void {
    this.missing.set(Results.key(scenario, target), why);
  }
  values(metric: Metric, target: TargetName): number[] {
    return (this.runs.get(Results.key(metric.scenario, target)) ?? [])
      .map(metric.pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
  }
  observations(scenario: ScenarioName, target: TargetName): Observation[] {
    return this.runs.get(Results.key(scenario, target)) ?? [];
  }
  why(scenario: ScenarioName, target: TargetName): string | undefined {
    return this.missing.get(Results.key(scenario, target));
  }
}

function fmt(v: number, digits: number): string {
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(results: Results, metric: Metric, target: TargetName): string {
  const s = spread(results.values(metric, target));
  if (!s) {
    const why = results.why(metric.scenario, target) ?? 'not run';
    return why.startsWith('not available yet') ? 'not available yet' : why.startsWith('failed') ? 'failed (see notes)' : why;
  }
  if (s.n === 1) return fmt(s.median, metric.digits);
  return `${fmt(s.median, metric.digits)} (${fmt(s.min, metric.digits)}–${fmt(s.max, metric.digits)})`;
}

function ratio(results: Results, metric: Metric, a: TargetName, b: TargetName): string {
  const x = spread(results.values(metric, a));
  const y = spread(results.values(metric, b));
  if (!x || !y || y.median === 0) return '–';
  return `${(x.median / y.median).toFixed(2)}×`;
}

/** The Markdown table: one row per metric, a column per target, then Mooring's ratios. */
export function renderTable(results: Results, all: Metric[], targets: TargetName[], scenarios: ScenarioName[]): string {
  const shown = all.filter((m) => scenarios.includes(m.scenario));
  const moorings = targets.filter((t) => t === 'mooring' || t === 'mooring-kafka');
  const brokers = targets.filter((t) => t === 'mosquitto' || t === 'aedes');
  const header = ['metric (median, min–max)', ...targets];
  for (const m of moorings) for (const b of brokers) header.push(`${m} ÷ ${b}`);
  const rows = shown.map((metric) => {
    const row = [metric.label + (metric.lowerIsBetter ? ' ↓' : ''), ...targets.map((t) => cell(results, metric, t))];
    for (const m of moorings) for (const b of brokers) row.push(ratio(results, metric, m, b));
    return row;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`, ...rows.map(line)].join('\n');
}
