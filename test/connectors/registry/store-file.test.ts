// The RegistryStore contract on the file backend (embedded mode's registry), each write persisted.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRegistry } from '../../../connectors/registry/index.ts';
import { registryStoreContract } from '../../contracts/registry-store.ts';

registryStoreContract('file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mooring-store-'));
  const path = join(dir, 'registry.yaml');
  await writeFile(path, '# contract suite\n');
  const store = await FileRegistry.open({ path, debounceMs: 20 });
  return { store, close: async () => { await store.close(); await rm(dir, { recursive: true }); } };
});
