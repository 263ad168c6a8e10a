// The registry on DynamoDB (a RegistryBackend for connectors/registry's store), the connection
// directory and the offline command queue on DynamoDB, and their options from the configuration.

import type { Logger } from '../../functions/ports/runtime.ts';
import { DynamoRegistryBackend, type DynamoRegistryOptions } from './backend.ts';

export { DynamoRegistryBackend, MAX_TRANSACTION_ITEMS, type DynamoRegistryOptions } from './backend.ts';
export { ensureTables, tableNames, type TableNames } from './tables.ts';
export { DynamoConnectionDirectory, directoryTableNames, type DynamoDirectoryOptions } from './directory.ts';
export { DynamoCommandQueue, type DynamoQueueOptions } from './queue.ts';

/** The DynamoDB fields of cli/config.ts's Config (MOORING_DYNAMODB_*), typed here so connectors do not import cli/. */
export interface DynamoConfig {
  dynamodbEndpoint: string | undefined;
  dynamodbRegion: string;
  dynamodbTablePrefix: string;
}

/** The backend's options from Config. */
export function dynamoOptionsFromConfig(
  config: DynamoConfig,
  extra: { logger?: Logger; instanceId?: string } = {},
): DynamoRegistryOptions {
  return {
    ...(config.dynamodbEndpoint !== undefined ? { endpoint: config.dynamodbEndpoint } : {}),
    region: config.dynamodbRegion,
    tablePrefix: config.dynamodbTablePrefix,
    ...extra,
  };
}

/** Opens the backend named by Config: tables created when missing. */
export function openDynamoRegistry(config: DynamoConfig, extra: { logger?: Logger; instanceId?: string } = {}): Promise<DynamoRegistryBackend> {
  return DynamoRegistryBackend.open(dynamoOptionsFromConfig(config, extra));
}
