// Prometheus metrics and health endpoints of every Mooring process (prom-client). The series are
// read from the counters the components already keep (the MQTT gateway's stats, the bus's delivery
// stats, the controller's writes) when Prometheus scrapes, so nothing on the hot path changes.
// docs/metrics.md lists the names; `answerObservability` serves `/metrics`, `/health/liveness`
// and `/health/readiness` on a process's HTTP server.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { BusHealth, DeliveryStats } from '../../functions/ports/bus.ts';
import type { VerifiedSecretStats } from '../../functions/authz/verified-secrets.ts';

/** The MQTT gateway's counters (connectors/mqtt GatewayStats). */
export interface GatewayCounters {
  connections: number; connectsAccepted: number; connectsRefused: number;
  publishesAccepted: number; publishesRefused: number; publishesDropped: number;
  commandsDelivered: number; protocolErrors: number; takeovers: number; willsPublished: number;
}

/** The controller's counters (connectors/kubernetes). */
export interface ControllerCounters {
  triggerWrites: { created: number; replaced: number; deleted: number };
  registryWrites: number;
  failures: number;
}

type Labels = Record<string, string>;

export interface Metrics {
  readonly registry: Registry;
  /** Adds the gateway's series, read from `stats` at each scrape. */
  gateway(stats: () => Readonly<GatewayCounters>): void;
  /** Adds the bus's delivery series. */
  bus(stats: () => Readonly<DeliveryStats>): void;
  /** Adds `mooring_quota_refusals_total` (connectors/quotas), read from `refusals` at each scrape. */
  quotas(refusals: () => ReadonlyArray<{ kind: string; protocol: string; count: number }>): void;
  /** Adds the controller's series. */
  controller(stats: () => Readonly<ControllerCounters>): void;
  /** Adds the bus backend's reachability and its consumer groups' lag (Kafka). */
  busHealth(health: BusHealth): void;
  /** Adds the command outcomes (commands sent through the API and the integrations). */
  commands(outcomes: () => Readonly<Record<string, number>>): void;
  /** Adds the verified-secrets cache of device authentication (functions/authz/verified-secrets.ts). */
  authCache(stats: () => Readonly<VerifiedSecretStats>): void;
  /** Adds the events a function served as a Knative Service handled, by outcome (functions/runtime/serve.ts). */
  functionEvents(name: string, outcomes: () => Readonly<Record<string, number>>): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mooring_' });

  /** A counter whose value is a monotonic count kept elsewhere: each scrape adds what it grew by. */
  const counter = (name: string, help: string, labelNames: string[], read: () => Array<[Labels, number]>) => {
    const last = new Map<string, number>();
    new Counter({
      name, help, labelNames, registers: [registry],
      collect() {
        for (const [labels, value] of read()) {
          const key = JSON.stringify(labels);
          const grown = value - (last.get(key) ?? 0);
          if (grown > 0) this.inc(labels, grown);
          else if (!last.has(key)) this.inc(labels, 0);
          last.set(key, value);
        }
      },
    });
  };
  const gauge = (name: string, help: string, read: () => number) => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  /** A gauge per label set; label sets gone since the last scrape disappear. */
  const labelledGauge = (name: string, help: string, labelNames: string[], read: () => Array<[Labels, number]>) => {
    new Gauge({ name, help, labelNames, registers: [registry], collect() { this.reset(); for (const [l, v] of read()) this.set(l, v); } });
  };

  return {
    registry,
    gateway(stats) {
      gauge('mooring_mqtt_connections', 'Open MQTT connections (every accepted stream, connected or not).', () => stats().connections);
      counter('mooring_mqtt_connects_total', 'MQTT CONNECTs by outcome.', ['outcome'], () => {
        const s = stats();
        return [[{ outcome: 'accepted' }, s.connectsAccepted], [{ outcome: 'refused' }, s.connectsRefused]];
      });
      counter('mooring_mqtt_publishes_total', 'Device PUBLISHes by outcome (dropped: QoS 0 not taken).', ['outcome'], () => {
        const s = stats();
        return [[{ outcome: 'accepted' }, s.publishesAccepted], [{ outcome: 'refused' }, s.publishesRefused], [{ outcome: 'dropped' }, s.publishesDropped]];
      });
      counter('mooring_mqtt_commands_delivered_total', 'Commands sent to devices as PUBLISH.', [], () => [[{}, stats().commandsDelivered]]);
      counter('mooring_mqtt_protocol_errors_total', 'Connections closed for a protocol violation, a malformed or an oversize packet.', [], () => [[{}, stats().protocolErrors]]);
      counter('mooring_mqtt_takeovers_total', 'Sessions taken over by a new connection of the same device.', [], () => [[{}, stats().takeovers]]);
      counter('mooring_mqtt_wills_published_total', 'Wills published.', [], () => [[{}, stats().willsPublished]]);
    },
    bus(stats) {
      counter('mooring_bus_dead_lettered_total', 'Events that reached a dead-letter sink.', [], () => [[{}, stats().deadLettered]]);
      counter('mooring_bus_dead_letter_failures_total', 'Rounds in which the dead-letter sink failed after its retries (the event was kept).', [], () => [[{}, stats().deadLetterFailures]]);
      counter('mooring_bus_dropped_total', 'Events dropped: failed without a dead-letter sink, or refused for good by it.', [], () => [[{}, stats().dropped]]);
      counter('mooring_bus_retries_total', 'Delivery attempts after the first, to subscribers and dead-letter sinks.', [], () => [[{}, stats().retries]]);
      counter('mooring_bus_deliveries_total', 'Final outcomes of deliveries to subscribers outside the process (push sinks) by status: 2xx, the last HTTP status, network.',
        ['status'], () => Object.entries(stats().remoteDeliveries).map(([status, n]) => [{ status }, n]));
    },
    busHealth(health) {
      gauge('mooring_bus_reachable', '1 while the bus backend (Kafka) answers its probe, else 0; readiness follows it.', () => (health.reachable() ? 1 : 0));
      labelledGauge('mooring_bus_consumer_lag', 'Records a consumer group of this process has still to make final (as of its last fetch).',
        ['group'], () => health.consumerLag().map(({ group, lag }) => [{ group }, lag]));
    },
    commands(outcomes) {
      counter('mooring_commands_total', 'Commands sent through the API and the integrations by outcome: delivered, queued, offline, external, refused.',
        ['outcome'], () => Object.entries(outcomes()).map(([outcome, n]) => [{ outcome }, n]));
    },
    functionEvents(name, outcomes) {
      counter('mooring_function_events_total', 'Events a function served as a Knative Service handled, by outcome: replied, accepted, invalid, refused, failed.',
        ['function', 'outcome'], () => Object.entries(outcomes()).map(([outcome, n]) => [{ function: name, outcome }, n]));
    },
    authCache(stats) {
      counter('mooring_auth_cache_lookups_total', 'Device secret verifications by result: hit (answered from the verified-secrets cache), miss (hashed).',
        ['result'], () => { const s = stats(); return [[{ result: 'hit' }, s.hits], [{ result: 'miss' }, s.misses]]; });
      gauge('mooring_auth_cache_entries', 'Verified secrets cached.', () => stats().size);
    },
    quotas(refusals) {
      counter('mooring_quota_refusals_total', 'Admissions refused over an application or device quota (MQTT 3.1.1: publishes held back).', ['kind', 'protocol'],
        () => refusals().map((r): [Labels, number] => [{ kind: r.kind, protocol: r.protocol }, r.count]));
    },
    controller(stats) {
      counter('mooring_controller_trigger_writes_total', 'Writes of push Triggers to the Kubernetes API by operation.', ['operation'], () => {
        const w = stats().triggerWrites;
        return [[{ operation: 'create' }, w.created], [{ operation: 'replace' }, w.replaced], [{ operation: 'delete' }, w.deleted]];
      });
      counter('mooring_controller_registry_writes_total', 'Registry writes of the controller (finalizers, status conditions).', [], () => [[{}, stats().registryWrites]]);
      counter('mooring_controller_reconcile_failures_total', 'Reconciles that failed and were queued again.', [], () => [[{}, stats().failures]]);
    },
  };
}

export interface Observability {
  metrics?: Metrics;
  /** Readiness: false while the process should get no new work (starting, draining, its bus down). */
  ready: () => boolean;
}

/** Answers GET /metrics, /health/liveness and /health/readiness; false for any other request. */
export function answerObservability(req: IncomingMessage, res: ServerResponse, o: Observability): boolean {
  if (req.method !== 'GET') return false;
  const path = (req.url ?? '/').split('?', 1)[0];
  const json = (status: number, body: object) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (path === '/health/liveness') { json(200, { status: 'ok' }); return true; }
  if (path === '/health/readiness') { if (o.ready()) json(200, { status: 'ok' }); else json(503, { status: 'not ready' }); return true; }
  if (path === '/metrics' && o.metrics) {
    const { registry } = o.metrics;
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => json(500, { error: 'MOORING_INTERNAL', message: err instanceof Error ? err.message : String(err) }),
    );
    return true;
  }
  return false;
}
