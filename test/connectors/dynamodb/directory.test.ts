// The DynamoDB ConnectionDirectory and CommandQueue pass the same contracts as the in-memory ones,
// on DynamoDB Local (tables of their own prefix).

import { DynamoCommandQueue } from '../../../connectors/dynamodb/queue.ts';
import { DynamoConnectionDirectory } from '../../../connectors/dynamodb/directory.ts';
import { commandQueueContract } from '../../contracts/command-queue.ts';
import { connectionDirectoryContract } from '../../contracts/connection-directory.ts';
import { ensureDynamo, uniquePrefix } from './helper.ts';

connectionDirectoryContract('DynamoDB', async (clock) => {
  const directory = await DynamoConnectionDirectory.open({ endpoint: await ensureDynamo(), tablePrefix: uniquePrefix('dir'), clock, ttlMs: 10_000 });
  return { directory, cleanup: () => directory.close() };
});

commandQueueContract('DynamoDB', async () => {
  const endpoint = await ensureDynamo();
  const tablePrefix = uniquePrefix('queue');
  const opened: DynamoCommandQueue[] = [];
  return {
    open: async ({ clock, maxPerTarget }) => {
      const q = await DynamoCommandQueue.open({ endpoint, tablePrefix, clock, ...(maxPerTarget === undefined ? {} : { maxPerTarget }) });
      opened.push(q);
      return q;
    },
    cleanup: async () => { for (const q of opened) q.close(); },
  };
});
