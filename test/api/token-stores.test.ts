// The TokenStore contract on the memory adapter and on the file adapter (a reopen of the file is
// the second store: what a restart finds).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTokenStore } from '../../api/tokens/file.ts';
import { MemoryTokenStore } from '../../api/tokens/memory.ts';
import { tokenStoreContract } from '../contracts/token-store.ts';

tokenStoreContract('memory', async () => ({ store: new MemoryTokenStore(), close: async () => {} }));

tokenStoreContract('file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mooring-token-contract-'));
  const path = join(dir, 'tokens.json');
  return {
    store: await FileTokenStore.open(path),
    reopen: () => FileTokenStore.open(path),
    close: () => rm(dir, { recursive: true, force: true }),
  };
});
