// Entry point of the controller (cluster mode, deploy/controller.yaml): keeps each registry
// application's push Trigger in the cluster in step with the registry (connectors/kubernetes).
// It runs on the shared DynamoDB registry (MOORING_DYNAMODB_ENDPOINT), where it sees the API's
// writes through the change feed; the cluster from MOORING_KUBECONFIG, else the pod's service
// account. /metrics and /health/* on PORT (ready once the first resync is done).
// `MOORING_KUBECONFIG=~/.kube/config npm run controller`.

import { createServer } from 'node:http';
import { pino } from 'pino';
import { loadKubeConfig, startTriggerController, TriggersApi } from '../connectors/kubernetes/index.ts';
import { answerObservability, createMetrics } from '../connectors/metrics/index.ts';
import type { Logger } from '../functions/ports/runtime.ts';
import { configFromEnv, configWarnings, describeStartError } from './config.ts';
import { openRegistry } from './registry.ts';

async function start(): Promise<void> {
  const config = configFromEnv();
  const logger = pino({ level: config.logLevel, base: { service: 'mooring-controller' } }, pino.destination(2)) as unknown as Logger;
  for (const warning of configWarnings()) logger.warn(warning);
  const { store, description } = await openRegistry(config, { logger });
  const triggers = new TriggersApi(loadKubeConfig(config.kubeconfig), config.kubeNamespace);
  const metrics = createMetrics();
  let ready = false;
  const server = createServer((req, res) => {
    if (!answerObservability(req, res, { metrics, ready: () => ready })) res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(config.port, config.host, resolve); });
  const controller = await startTriggerController({ registry: store, triggers, logger, resyncMs: config.controllerResyncMs });
  metrics.controller(() => ({ triggerWrites: triggers.writes, registryWrites: controller.registryWrites, failures: controller.failures }));
  ready = true;
  logger.info({ registry: description, namespace: config.kubeNamespace, writes: triggers.writes, port: config.port }, 'controller running');
  const stop = (signal: string) => {
    logger.info({ signal }, 'controller stopping');
    ready = false;
    server.close();
    controller.close().then(() => store.close()).then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

start().catch((err: unknown) => {
  console.error(`mooring controller: ${describeStartError(err)}`);
  process.exit(1);
});
