// The TokenStore contract on DynamoDB (DynamoDB Local: MOORING_TEST_DYNAMODB, or one started for
// this file); the second store is another client on the same table, as another instance has.

import { DynamoTokenStore } from '../../../connectors/dynamodb/tokens.ts';
import { tokenStoreContract } from '../../contracts/token-store.ts';
import { openBackend, uniquePrefix } from './helper.ts';

tokenStoreContract('dynamodb', async () => {
  const prefix = uniquePrefix('tokens');
  const backends = [await openBackend(prefix)];
  const open = async () => {
    const backend = await openBackend(prefix);
    backends.push(backend);
    return DynamoTokenStore.open(backend.client, prefix);
  };
  return {
    store: await DynamoTokenStore.open(backends[0]!.client, prefix),
    reopen: open,
    close: async () => { for (const b of backends) await b.close(); },
  };
});
