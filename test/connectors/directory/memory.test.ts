// The in-memory ConnectionDirectory and CommandQueue pass their contracts.

import { InMemoryCommandQueue, InMemoryConnectionDirectory } from '../../../connectors/directory/index.ts';
import { commandQueueContract } from '../../contracts/command-queue.ts';
import { connectionDirectoryContract } from '../../contracts/connection-directory.ts';

connectionDirectoryContract('in-memory', async (clock) => ({
  directory: new InMemoryConnectionDirectory({ clock, ttlMs: 10_000 }),
  cleanup: async () => {},
}));

// Two queues "on one store" are one queue here: there is no store to share in memory.
commandQueueContract('in-memory', async () => {
  let shared: InMemoryCommandQueue | undefined;
  return {
    open: async ({ clock, maxPerTarget }) => {
      if (maxPerTarget === undefined && shared !== undefined) return shared;
      const q = new InMemoryCommandQueue({ clock, ...(maxPerTarget === undefined ? {} : { maxPerTarget }) });
      if (maxPerTarget === undefined) shared = q;
      return q;
    },
    cleanup: async () => {},
  };
});
