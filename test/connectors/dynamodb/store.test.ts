// The RegistryStore contract on DynamoDB: BackendRegistryStore over DynamoRegistryBackend, on
// DynamoDB Local (MOORING_TEST_DYNAMODB, or one started for this file).

import { BackendRegistryStore } from '../../../connectors/registry/store.ts';
import { registryStoreContract } from '../../contracts/registry-store.ts';
import { openBackend, uniquePrefix } from './helper.ts';

registryStoreContract('dynamodb', async () => {
  const backend = await openBackend(uniquePrefix('contract'));
  const store = new BackendRegistryStore(backend);
  return { store, close: () => store.close() };
});
