// Which registry a Mooring process runs on: DynamoDB when MOORING_DYNAMODB_ENDPOINT is set (the
// single-host and cluster modes: instances sharing it see each other's writes), else the watched
// YAML file of embedded mode (MOORING_REGISTRY, or the demo file in the data dir). Both are the
// same RegistryStore (connectors/registry/store.ts) on a different backend. On DynamoDB without
// MOORING_REGISTRY the demo application and devices are created when missing, so a newcomer's
// first start looks the same in every mode. The access tokens live beside the registry.

import { parseAllDocuments } from 'yaml';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { openDynamoRegistry } from '../connectors/dynamodb/index.ts';
import { DynamoTokenStore } from '../connectors/dynamodb/tokens.ts';
import { openTokenStore } from '../api/index.ts';
import type { TokenStore } from '../functions/ports/tokens.ts';
import { BackendRegistryStore, demoRegistryYaml, FileRegistry, validateDocuments } from '../connectors/registry/index.ts';
import { isMooringError } from '../events/errors.ts';
import type { RegistryStore } from '../functions/ports/registry.ts';
import type { Logger } from '../functions/ports/runtime.ts';
import type { Config } from './config.ts';

export interface OpenedRegistry {
  store: RegistryStore;
  /** For the start-up text: the file (edits apply live) or the DynamoDB endpoint and tables. */
  description: string;
  /** The registry's DynamoDB client, which the token store shares (DynamoDB mode only). */
  dynamo?: DynamoDBClient;
}

export async function openRegistry(config: Readonly<Config>, opts: { demoEndpoint?: string | undefined; logger: Logger }): Promise<OpenedRegistry> {
  if (config.dynamodbEndpoint === undefined) {
    const file = await FileRegistry.open({
      path: config.registryPath, dataDir: config.dataDir, demoEndpoint: opts.demoEndpoint, logger: opts.logger,
    });
    return { store: file, description: `${file.path}  (edits apply live)` };
  }
  const backend = await openDynamoRegistry(config, { logger: opts.logger });
  const store = new BackendRegistryStore(backend);
  if (config.registryPath === undefined) await seedDemo(store, opts.demoEndpoint, opts.logger);
  return { store, description: `DynamoDB ${config.dynamodbEndpoint} (tables ${config.dynamodbTablePrefix}*)`, dynamo: backend.client };
}

/**
 * The users and access tokens beside the registry: in DynamoDB when the registry is (instances
 * sharing it share the tokens: one created through any instance's API works on all), else
 * `<dataDir>/tokens.json`.
 */
export function openTokens(config: Readonly<Config>, registry: OpenedRegistry): Promise<TokenStore> {
  return registry.dynamo !== undefined
    ? DynamoTokenStore.open(registry.dynamo, config.dynamodbTablePrefix)
    : openTokenStore(config.dataDir);
}

/** Creates the demo resources that do not exist yet (another instance may be doing the same). */
async function seedDemo(store: RegistryStore, endpoint: string | undefined, logger: Logger): Promise<void> {
  const content = validateDocuments(parseAllDocuments(demoRegistryYaml({ endpoint })).map((d) => d.toJS()));
  let created = 0;
  const tolerate = (err: unknown) => { if (!isMooringError(err, 'MOORING_CONFLICT')) throw err; };
  for (const app of content.applications) {
    if (await store.getApplication(app.metadata.name)) continue;
    await store.createApplication(app).then(() => { created++; }, tolerate);
  }
  for (const device of content.devices) {
    if (await store.getDevice(device.metadata.application, device.metadata.name)) continue;
    await store.createDevice(device).then(() => { created++; }, tolerate);
  }
  if (created > 0) logger.info({ created }, 'demo application and devices created in DynamoDB');
}
