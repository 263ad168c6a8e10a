// The RegistryStore contract on the memory backend.

import { BackendRegistryStore } from '../../../connectors/registry/store.ts';
import { MemoryBackend } from '../../../connectors/registry/memory-backend.ts';
import { registryStoreContract } from '../../contracts/registry-store.ts';

registryStoreContract('memory', async () => {
  const store = new BackendRegistryStore(new MemoryBackend());
  return { store, close: () => store.close() };
});
