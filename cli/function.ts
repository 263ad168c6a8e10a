// Entry point of a function (the image started as `function`, knative/services.yaml): serves the
// function that MOORING_FUNCTION names under the Knative Serving contract, on PORT, with the
// registry file of MOORING_REGISTRY. `MOORING_FUNCTION=normalize PORT=8080 npm run function`.

import { FileRegistry } from '../connectors/registry/index.ts';
import { main } from '../functions/runtime/main.ts';
import { configFromEnv, configWarnings, describeStartError } from './config.ts';
import { openTracer } from './tracing.ts';
import { answerObservability, createMetrics } from '../connectors/metrics/index.ts';
import type { FunctionOutcomes } from '../functions/runtime/serve.ts';

async function start(): Promise<void> {
  const config = configFromEnv();
  for (const warning of configWarnings()) console.error(`mooring function: warning: ${warning}`);
  // Spans of the function's deliveries; exported every 5 s (what is buffered at a stop is lost).
  const tracer = await openTracer(config, `mooring-function-${config.functionName ?? 'none'}`, []);
  // /metrics beside the function: the process's series and the events it handled by outcome.
  const metrics = createMetrics();
  const served: { outcomes?: Readonly<FunctionOutcomes> } = {};
  metrics.functionEvents(config.functionName ?? 'none', () => ({ ...served.outcomes }));
  const handle = await main({
    tracer,
    observe: (req, res) => answerObservability(req, res, { metrics, ready: () => true }),
    registry: () => FileRegistry.open({ path: config.registryPath, dataDir: config.dataDir }),
    functionName: config.functionName,
    port: config.port,
    instance: config.instance,
    logLevel: config.logLevel,
  });
  served.outcomes = handle.outcomes;
}

start().catch((err: unknown) => {
  console.error(`mooring function: ${describeStartError(err)}`);
  process.exit(1);
});
