// The registry on DynamoDB (a RegistryBackend for connectors/registry's store), and its options
// from the configuration.

import type { Config } from '../../cli/config.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import { DynamoRegistryBackend, type DynamoRegistryOptions } from './backend.ts';

export { DynamoRegistryBackend, MAX_TRANSACTION_ITEMS, type DynamoRegistryOptions } from './backend.ts';
export { ensureTables, tableNames, type TableNames } from './tables.ts';

/** The backend's options from Config (MOORING_DYNAMODB_*). */
export function dynamoOptionsFromConfig(
  config: Pick<Config, 'dynamodbEndpoint' | 'dynamodbRegion' | 'dynamodbTablePrefix'>,
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
export function openDynamoRegistry(config: Pick<Config, 'dynamodbEndpoint' | 'dynamodbRegion' | 'dynamodbTablePrefix'>, extra: { logger?: Logger; instanceId?: string } = {}): Promise<DynamoRegistryBackend> {
  return DynamoRegistryBackend.open(dynamoOptionsFromConfig(config, extra));
}
