// Entry point of the functions image (knative/services.yaml): serves the function that
// MOORING_FUNCTION names under the Knative Serving contract, with the registry file of
// MOORING_REGISTRY. `MOORING_FUNCTION=normalize PORT=8080 npm run function`.

import { FileRegistry } from '../connectors/registry/index.ts';
import { main } from '../functions/runtime/main.ts';

main({ registry: () => FileRegistry.open() }).catch((err: unknown) => {
  console.error(`mooring function: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
