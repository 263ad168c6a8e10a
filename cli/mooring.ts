// The composition root: wires the adapters to the ports and starts one Mooring process.
// Embedded mode: in-memory broker executing knative/ Triggers, file registry, functions in-process.
// Single-host mode (config.kafkaBrokers): the same with Kafka as the bus; with DynamoDB too, the
// registry, the connection directory and the offline queue are shared by every instance.

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CloudEvent } from '../events/cloudevent.ts';
import { assertValidEvent } from '../events/validate.ts';
import { InMemoryEventBus } from '../connectors/broker/memory.ts';
import { attachSpool, spoolableOf } from '../connectors/knative/spool.ts';
import { createDeadLetterRecorder, type DeadLetterRecorder } from '../connectors/knative/dead-letter.ts';
import { createResolver, startEmbeddedBroker } from '../connectors/knative/resolver.ts';
import { brokerDeliveries, loadTriggers, readManifests, renderAppTrigger } from '../connectors/knative/triggers.ts';
import { createMqttGateway, type GatewayAddresses, type MqttGateway } from '../connectors/mqtt/index.ts';
import { createHttpEndpoint, type HttpAddresses, type HttpEndpoint } from '../connectors/http/index.ts';
import { createPushSink, HttpTransport, pushTargetsFromRegistry, triggerTimeoutOf, type PushEndpoint, type PushSink } from '../connectors/push-sink/index.ts';
import { normalize } from '../functions/normalize/index.ts';
import { contentType } from '../functions/content-type/index.ts';
import type { EventBus, Subscriber, TriggerSpec } from '../functions/ports/bus.ts';
import { MooringError } from '../events/errors.ts';
import { systemClock, type FunctionContext, type Logger } from '../functions/ports/runtime.ts';
import { PARTS, type Config, type Part } from './config.ts';
import { openRegistry, openTokens } from './registry.ts';
import { hashPool } from '../functions/authz/hash-pool.ts';
import { publishRegistryChanges } from '../connectors/registry/change-events.ts';
import { applicationAuth, createAuthenticator, DEMO_USER, demoAccessToken, startApi, type ApiServer } from '../api/index.ts';
// Pull mode (issue 12): an application's stream from the bus, the MQTT and WebSocket integrations.
import { StreamSource } from '../connectors/stream/source.ts';
import { createMqttIntegration, type MqttIntegration } from '../connectors/mqtt-integration/index.ts';
import { startWsIntegration, type WsIntegration } from '../connectors/ws-integration/server.ts';
import type { ListenerAddresses } from '../connectors/mqtt/host.ts';
import type { ListenerOptions } from '../connectors/mqtt/options.ts';
import { applicationEventsTopic } from '../connectors/kafka/topics.ts';
import type { RegistryStore } from '../functions/ports/registry.ts';
import { startDemoSink, type DemoSink } from './demo-sink.ts';
import { startIngress, type Ingress } from './ingress.ts';
import { Admission } from '../connectors/net/admission.ts';
import type { Tracer } from '../functions/ports/tracing.ts';
import { openTracer } from './tracing.ts';
import { verifiedSecretsOf } from '../functions/authz/verified-secrets.ts';
import { createMetrics } from '../connectors/metrics/index.ts';
import { QuotaLimiter, type Limits } from '../connectors/quotas/index.ts';
// Commands (issue 10): connection directory, offline queue, dispatch, the per-instance command Trigger.
import { InMemoryCommandQueue, InMemoryConnectionDirectory, httpExternalEndpoint } from '../connectors/directory/index.ts';
import { commandTriggers, gatewaySubscriber } from '../connectors/mqtt/command-triggers.ts';
import { createCommandService, type CommandService } from '../functions/command-dispatch/index.ts';
import type { ConnectionDirectory } from '../functions/ports/directory.ts';
import type { CommandQueue } from '../functions/ports/command-queue.ts';

export interface Mooring {
  config: Readonly<Config>;
  registry: RegistryStore;
  /** Where the registry lives, for the start-up text. */
  registryDescription: string;
  /** The management API (registry, tokens, admin, commands, discovery); undefined when this process does not serve `api`. */
  api: ApiServer | undefined;
  /** The demo user's access token (embedded demo only). */
  demoUser: { username: string; token: string } | undefined;
  bus: EventBus;
  gateway: MqttGateway;
  mqtt: GatewayAddresses;
  /** The HTTP device endpoint (Drogue's http-endpoint and TTN webhooks). */
  http: HttpEndpoint;
  httpAddresses: HttpAddresses;
  ingress: Ingress;
  /** The demo application's sink, when the demo registry is in use. */
  demoSink: DemoSink | undefined;
  deadLetters: DeadLetterRecorder;
  /** Applications with a running push Trigger. */
  pushApplications(): string[];
  /** "Send command": the entry point of the command API and the MQTT integration. */
  commands: CommandService;
  /** Who holds which device's connection (DynamoDB with Kafka and DynamoDB configured, else in-memory). */
  directory: ConnectionDirectory;
  /** This process's instance id in the directory (`mooringholder` of the commands routed to it). */
  instanceId: string;
  /** Pull mode: the applications' streams and the two integrations reading them. */
  streams: StreamSource;
  mqttIntegration: MqttIntegration;
  mqttIntegrationAddresses: ListenerAddresses;
  /** Undefined when this process does not serve `integrations`. */
  wsIntegration: WsIntegration | undefined;
  /** The process's one quota limiter (docs/quotas.md). */
  quotas: QuotaLimiter;
  /** Admission at accept of every device-facing listener (connections per source, pending handshakes). */
  admission: Admission;
  close(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** Called for each event the demo sink receives (npm start prints them). */
  onDemoEvent?: (event: CloudEvent) => void;
  /** Bus to use instead of the one the configuration selects (tests). */
  bus?: EventBus;
  /**
   * The parts whose listeners this process opens (default: all of PARTS). The bus, the registry,
   * the Triggers and the ingress (`/metrics`, `/health/*`) run in every process.
   */
  parts?: ReadonlySet<Part>;
}

/**
 * The in-memory broker, or Kafka (single-host mode). On Kafka the bus publishes to the topic of
 * the Broker the knative/ Triggers name (`knative-broker-<ns>-<broker>`), the topic they read.
 * Single host: this process is the only writer of that topic, so its in-process functions are
 * served at publish time and have no consumer group (KafkaEventBusOptions.soleWriter), and the
 * topic holds structured-mode records, cheaper to write and read (its readers are ours; the
 * application-facing topics and the push sinks stay binary, Drogue's wire).
 */
async function createBus(config: Readonly<Config>, logger: Logger, broker: { namespace: string; broker: string } | undefined,
  tracer: Tracer | undefined): Promise<EventBus> {
  if (!config.kafkaBrokers) return new InMemoryEventBus({ logger: logger.child({ component: 'broker' }), tracer });
  const { KafkaEventBus } = await import('../connectors/kafka/bus.ts');
  return new KafkaEventBus({
    brokers: config.kafkaBrokers, namespace: broker?.namespace, broker: broker?.broker, soleWriter: true, recordMode: 'structured',
    logger: logger.child({ component: 'kafka' }), tracer,
  });
}


/**
 * On Kafka the KafkaSink `mooring-dead-letter` is its topic (the record goes there before the
 * failed event's offset is committed); the recorder still keeps and logs the recent ones.
 */
async function kafkaDeadLetter(config: Readonly<Config>, bus: EventBus, recorder: Subscriber): Promise<Subscriber> {
  const topics = bus.capabilities.topics;
  if (!config.kafkaBrokers || !topics) return recorder;
  const { kafkaSink, DEAD_LETTER_TOPIC } = await import('../connectors/kafka/sink.ts');
  const toKafka = kafkaSink(topics, () => DEAD_LETTER_TOPIC);
  return async (event) => {
    await toKafka(event);
    return recorder(event);
  };
}

/** MOORING_KAFKA_APP_TOPICS: each application's final events also to `events-<app>` (Kafka only). */
async function startAppTopics(bus: EventBus, broker: { namespace: string; broker: string } | undefined): Promise<void> {
  const topics = bus.capabilities.topics;
  if (!topics) throw new MooringError('MOORING_INVALID_CONFIG', 'MOORING_KAFKA_APP_TOPICS needs MOORING_KAFKA_BROKERS');
  const { startApplicationTopics } = await import('../connectors/kafka/app-topics.ts');
  await startApplicationTopics(bus, topics, broker ?? { namespace: 'default', broker: 'default' });
}

/** A PEM given inline, or the path of a PEM file. */
async function pem(value: string): Promise<string> {
  return value.trimStart().startsWith('-----BEGIN') ? value : readFile(value, 'utf8');
}

/** The MQTT listeners of a server (gateway, integration): TCP, WebSocket, and TLS when a certificate is configured. */
function listenersOf(config: Readonly<Config>, admission: Admission, tls: ListenerOptions['tls'], port: number, wsPort: number, tlsPort: number): ListenerOptions {
  return { host: config.host, port, wsPort, tlsPort: tls ? tlsPort : false, admission, ...(tls ? { tls } : {}) };
}

/**
 * Who holds which device, and the offline queue: in DynamoDB when the instances share both Kafka
 * and DynamoDB (single-host and cluster mode: a command travels the bus to the holding instance),
 * else in this process (embedded, or DynamoDB for the registry only: each instance its own bus).
 */
async function openDirectory(
  config: Readonly<Config>, instanceId: string, logger: Logger, closers: Array<() => Promise<void>>,
): Promise<{ directory: ConnectionDirectory; queue: CommandQueue; shared: boolean }> {
  const ttlMs = config.connectionTtlMs;
  if (config.dynamodbEndpoint === undefined || !config.kafkaBrokers) {
    return { directory: new InMemoryConnectionDirectory({ ttlMs }), queue: new InMemoryCommandQueue(), shared: false };
  }
  const { DynamoConnectionDirectory, DynamoCommandQueue, dynamoOptionsFromConfig } = await import('../connectors/dynamodb/index.ts');
  const options = dynamoOptionsFromConfig(config, { logger: logger.child({ component: 'directory' }), instanceId });
  const directory = await DynamoConnectionDirectory.open({ ...options, ttlMs });
  closers.push(() => directory.close());
  const queue = await DynamoCommandQueue.open(options);
  closers.push(async () => queue.close());
  return { directory, queue, shared: true };
}

interface PushTrigger {
  trigger: TriggerSpec;
  sink: PushSink;
  endpoint: string;
}

/** The process-wide quota defaults (MOORING_QUOTA_*); each application's `spec.limits` overrides fields. */
function quotaDefaults(c: Readonly<Config>): Limits {
  return {
    appConnections: c.quotaAppConnections, appMessagesPerSecond: c.quotaAppMessagesPerSecond,
    appBytesPerSecond: c.quotaAppBytesPerSecond, appCommandsPerSecond: c.quotaAppCommandsPerSecond,
    deviceConnections: c.quotaDeviceConnections, deviceMessagesPerSecond: c.quotaDeviceMessagesPerSecond,
    deviceBytesPerSecond: c.quotaDeviceBytesPerSecond,
  };
}

export async function startMooring(config: Readonly<Config>, opts: StartOptions): Promise<Mooring> {
  const { logger } = opts;
  const serves = (part: Part): boolean => (opts.parts ?? new Set(PARTS)).has(part);
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) {
      try { await c(); } catch (err) { logger.error({ err }, 'error while closing'); }
    }
  };
  try {
    // The demo sink comes first: its URL goes into the demo registry when it is created.
    let demoSink: DemoSink | undefined;
    if (!config.registryPath) {
      demoSink = await startDemoSink(config.host, config.demoSinkPort, (e) => opts.onDemoEvent?.(e));
      closers.push(() => demoSink!.close());
    }
    const opened = await openRegistry(config, { demoEndpoint: demoSink?.url, logger: logger.child({ component: 'registry' }) });
    const registry = opened.store;
    closers.push(() => registry.close());

    // Closed in reverse: the bus drains its in-flight deliveries before the sinks and transport go.
    const transport = new HttpTransport({ logger: logger.child({ component: 'push' }) });
    closers.push(async () => transport.close());
    const push = new Map<string, PushTrigger>();
    closers.push(async () => { for (const p of push.values()) await p.sink.close(); });
    const triggers = await loadTriggers(config.knativeDir);
    const tracer = await openTracer(config, 'mooring-gateway', closers);
    const bus = opts.bus ?? await createBus(config, logger, triggers[0], tracer);
    // Embedded mode: a stop drains, then spools what is left; the next start restores it first.
    const spoolable = spoolableOf(bus);
    const spool = spoolable
      ? attachSpool(spoolable, { dir: join(config.dataDir, 'spool'), drainMs: config.stopDrainMs, logger: logger.child({ component: 'spool' }) })
      : undefined;
    closers.push(async () => { if (spool) await spool.close(); else await bus.close(); });

    const ctx: FunctionContext = {
      registry, clock: systemClock, logger: logger.child({ component: 'functions' }),
      instance: config.instance, newId: randomUUID,
    };
    const deadLetters = createDeadLetterRecorder({ logger: logger.child({ component: 'dead-letter' }) });
    // ---- commands (issue 10)
    const instanceId = randomUUID();
    const { directory, queue: commandQueue, shared: sharedDirectory } = await openDirectory(config, instanceId, logger, closers);
    const commands = createCommandService({ bus, ctx, directory, queue: commandQueue, external: httpExternalEndpoint(), instanceId });
    // ----
    const resolve = createResolver({
      functions: [normalize, contentType, commands.dispatch],
      ctx,
      uri: (uri) => createPushSink({ endpoint: { url: uri }, transport, logger }),
      deadLetter: await kafkaDeadLetter(config, bus, deadLetters.subscriber),
    });

    // The pipeline Triggers of knative/, then one push Trigger per application with an endpoint.
    await startEmbeddedBroker(bus, triggers, resolve);
    if (config.kafkaAppTopics) await startAppTopics(bus, triggers[0]);
    const appTemplate = join(config.knativeDir, 'templates', 'app-trigger.yaml');
    const brokers = brokerDeliveries((await readManifests(config.knativeDir)).map((m) => m.doc));
    const sameEndpoint = (a: PushEndpoint) => JSON.stringify(a);
    const syncPush = async () => {
      const desired = new Map((await pushTargetsFromRegistry(registry)).map((t) => [t.application, t.endpoint]));
      for (const [app, cur] of push) {
        const want = desired.get(app);
        if (want && sameEndpoint(want) === cur.endpoint) continue;
        await bus.removeTrigger(cur.trigger.namespace, cur.trigger.name);
        await cur.sink.close();
        push.delete(app);
        logger.info({ application: app }, 'push trigger removed');
      }
      for (const [app, endpoint] of desired) {
        if (push.has(app)) continue;
        const trigger = await renderAppTrigger({ app, endpoint: endpoint.url, timeout: triggerTimeoutOf(endpoint) }, { brokers, template: appTemplate });
        const sink = createPushSink({ endpoint, transport, logger: logger.child({ application: app }) });
        const dls = trigger.delivery?.deadLetterSink;
        await bus.addTrigger(trigger, sink, dls ? resolve(dls, trigger) : undefined);
        push.set(app, { trigger, sink, endpoint: sameEndpoint(endpoint) });
        logger.info({ application: app }, 'push trigger added');
      }
      spool?.requeue();
    };
    // Registry edits add, change or remove push Triggers; syncs run one after another.
    let syncing: Promise<void> = syncPush();
    await syncing;
    const unsubscribe = registry.onChange(() => {
      syncing = syncing.then(syncPush).catch((err: unknown) => logger.error({ err }, 'push trigger sync failed'));
    });
    closers.push(async () => {
      unsubscribe();
      await syncing;
    });

    await spool?.restore();

    // /metrics and /health/* on the ingress port; ready once everything listens, until the stop.
    const metrics = createMetrics();
    let ready = false;
    const ingress = await startIngress({
      host: config.host, port: config.ingressPort, bus, logger: logger.child({ component: 'ingress' }),
      // Not ready while the bus backend is out of reach: a Service then sends new devices elsewhere.
      validate: assertValidEvent, observability: { metrics, ready: () => ready && (bus.capabilities.health?.reachable() ?? true) },
      limits: { headersTimeoutMs: config.httpHeadersTimeoutMs, requestTimeoutMs: config.httpRequestTimeoutMs },
    });
    // One admission for every device-facing listener: connections per source, pending handshakes.
    const admission = new Admission({
      maxPerSource: config.maxConnectionsPerSource, maxPending: config.maxPendingHandshakes,
      limitLoopback: config.limitLoopback, handshakeTimeoutMs: config.handshakeTimeoutMs,
    }, logger.child({ component: 'admission' }));
    const outgoing = { maxWriteBuffer: config.maxOutgoingBytes, writeStallMs: config.writeStallMs };
    closers.push(() => ingress.close());

    // One quota limiter for every device port and command entry point of this process (docs/quotas.md).
    const quotas = new QuotaLimiter({ registry, defaults: quotaDefaults(config) });
    closers.push(async () => quotas.close());
    metrics.quotas(() => quotas.refusals());
    const tls = config.tlsCert && config.tlsKey ? { cert: await pem(config.tlsCert), key: await pem(config.tlsKey) } : undefined;
    const gateway = createMqttGateway({
      bus, registry, logger: logger.child({ component: 'mqtt' }), instance: config.instance,
      maxPacketSize: config.maxPacketSize, maxConnections: config.maxConnections,
      directory, queue: commandQueue, instanceId, replies: commands.receiveReply, quotas, tracer, ...outgoing,
      listeners: listenersOf(config, admission, tls, config.mqttPort, config.mqttWsPort, config.mqttsPort),
    });
    // The HTTP device endpoint: the same instance id, so a device waiting with `ct` is found here.
    const http = createHttpEndpoint({
      bus, registry, logger: logger.child({ component: 'http' }), directory, instanceId, tracer,
      maxCommandWaitSeconds: config.httpMaxCommandWait, quotas, admission,
      headersTimeoutMs: config.httpHeadersTimeoutMs, requestTimeoutMs: config.httpRequestTimeoutMs,
      host: config.host, port: config.httpPort, tlsPort: tls ? config.httpsPort : false, tls,
    });
    // ---- commands (issue 10): dispatch Trigger, and the Trigger of commands routed to this instance
    const cmdTriggers = await commandTriggers(gateway.instanceId, { brokers });
    await startEmbeddedBroker(bus, [cmdTriggers.dispatch], resolve);
    // A request waiting with `ct` takes a routed command first; otherwise the MQTT connection does.
    const mqttCommands = gatewaySubscriber(gateway, commands.receiveRoutedReply);
    // Only other instances sharing the directory route commands here through the bus; alone, this
    // instance's own routed commands are served at publish (no consumer of the broker topic).
    await bus.addTrigger(cmdTriggers.delivery, {
      ...mqttCommands, perInstance: sharedDirectory,
      call: async (event: CloudEvent) => http.offerCommand(event) ? undefined : mqttCommands.call(event),
    });
    // ----
    hashPool.warm(); // password hashes off the event loop, ready before the first connect
    const mqtt: GatewayAddresses = serves('gateway') ? await gateway.listen() : {};
    if (serves('gateway')) closers.push(() => gateway.close());
    const httpAddresses: HttpAddresses = serves('http') ? await http.listen() : {};
    if (serves('http')) closers.push(() => http.close());
    metrics.gateway(() => gateway.stats);
    metrics.bus(() => bus.stats());
    const health = bus.capabilities.health;
    if (health) metrics.busHealth(health);
    metrics.commands(() => commands.outcomes());
    metrics.authCache(() => verifiedSecretsOf(registry).stats());
    // Registry changes made here: Drogue's registry events, and io.drogue.registry.v1 to the application.
    const stopChangeEvents = publishRegistryChanges(registry, bus, { instance: config.instance, newId: randomUUID, clock: systemClock, logger: logger.child({ component: 'registry-events' }) });
    closers.push(async () => stopChangeEvents());

    // The management API; in the embedded demo, a demo user with an access token.
    const tokens = await openTokens(config, opened);
    const demoUser = demoSink ? await demoAccessToken(tokens, config.dataDir) : undefined;
    const publicHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    const authn = createAuthenticator({ config, tokens, logger });

    // ---- pull mode (issue 12): the integrations authenticate applications as the API does.
    const auth = applicationAuth(authn, registry);
    const streams = new StreamSource({
      bus, broker: triggers[0] ?? { namespace: 'default', broker: 'default' }, template: appTemplate,
      topicOf: config.kafkaAppTopics ? applicationEventsTopic : undefined,
      logger: logger.child({ component: 'stream' }),
    });
    closers.push(() => streams.close());
    const mqttIntegration = createMqttIntegration({
      bus, registry, source: streams, auth, sendCommand: quotas.commandGate((request) => commands.sendCommand(request), 'mqtt_integration'),
      logger: logger.child({ component: 'mqtt-integration' }), maxPacketSize: config.maxPacketSize, maxConnections: config.maxConnections,
      ...outgoing,
      listeners: listenersOf(config, admission, tls, config.mqttIntegrationPort, config.mqttIntegrationWsPort, config.mqttIntegrationTlsPort),
    });
    const mqttIntegrationAddresses: ListenerAddresses = serves('integrations') ? await mqttIntegration.listen() : {};
    if (serves('integrations')) closers.push(() => mqttIntegration.close());
    const wsIntegration = serves('integrations') ? await startWsIntegration({
      source: streams, auth, logger: logger.child({ component: 'ws-integration' }), port: config.wsIntegrationPort, host: config.host,
      admission, maxWriteBuffer: config.maxOutgoingBytes,
    }) : undefined;
    if (wsIntegration) closers.push(() => wsIntegration.close());
    const mi = mqttIntegrationAddresses;
    // ----

    const api = serves('api') ? await startApi({
      registry, tokens, config, logger, authn,
      endpoints: {
        ...(mqtt.mqtt ? { mqtt: { host: publicHost, port: mqtt.mqtt.port } } : {}),
        ...(mqtt.mqtts ? { mqtts: { host: publicHost, port: mqtt.mqtts.port } } : {}),
        ...(mqtt.ws ? { mqtt_ws: { url: `ws://${publicHost}:${mqtt.ws.port}/mqtt` } } : {}),
        ...(httpAddresses.http ? { http: { url: `http://${publicHost}:${httpAddresses.http.port}` } } : {}),
        ...(mi.mqtts ?? mi.mqtt ? { mqtt_integration: { host: publicHost, port: (mi.mqtts ?? mi.mqtt)!.port } } : {}),
        ...(mi.ws ? { mqtt_integration_ws: { url: `ws://${publicHost}:${mi.ws.port}/mqtt` } } : {}),
        ...(wsIntegration ? { websocket_integration: { url: `ws://${publicHost}:${wsIntegration.address.port}` } } : {}),
      },
      users: demoUser ? [DEMO_USER] : [],
      commands: quotas.commandGate((request) => commands.sendCommand(request), 'api'),
    }) : undefined;
    if (api) closers.push(() => api.close());
    ready = true;
    closers.push(async () => { ready = false; });

    return {
      config, registry, registryDescription: opened.description, api, demoUser,
      bus, gateway, mqtt, http, httpAddresses, ingress, demoSink, deadLetters,
      pushApplications: () => [...push.keys()],
      commands, directory, instanceId,
      streams, mqttIntegration, mqttIntegrationAddresses, wsIntegration, quotas, admission,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
