// The change feed's polling against a scripted client (no DynamoDB): an item that becomes visible
// after a later-keyed one is still reported (the look-back window), each item once; items of the
// instance itself are skipped; a failed poll is followed, on recovery, by an empty change list.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChangeFeed, type Change } from '../../../connectors/dynamodb/changes.ts';
import type { Item } from '../../../connectors/dynamodb/tables.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';
import { waitFor } from './helper.ts';

/** A client whose Query answers the visible items with keys above `:from`, or fails while `down`. */
function scripted() {
  const state = { items: [] as Item[], down: false, queries: 0 };
  const client = {
    async send(cmd: { input: { ExpressionAttributeValues: Record<string, { S: string }> } }) {
      state.queries++;
      if (state.down) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' });
      const from = cmd.input.ExpressionAttributeValues[':from']!.S;
      return { Items: state.items.filter((i) => i.key!.S! > from).sort((x, y) => (x.key!.S! < y.key!.S! ? -1 : 1)) };
    },
  } as unknown as DynamoDBClient;
  return { state, client };
}

const change = (device: string): Change => ({ kind: 'device', application: 'app', device, uid: device, revision: 1, path: '.' });

test('late items within the look-back are reported once; own items never', async () => {
  const { state, client } = scripted();
  let clock = 1_000_000;
  const opts = { pollIntervalMs: 10, lookbackMs: 5000, ttlSeconds: 60, logger: silentLogger, now: () => clock };
  const other = new ChangeFeed(client, 't', 'other', opts);
  const me = new ChangeFeed(client, 't', 'me', opts);
  const seen: Array<string | undefined> = [];
  me.start((c) => seen.push(...c.map((x) => x.device)));
  try {
    const early = other.item([change('early')]); // keyed now, visible later (a slow transaction)
    clock += 100;
    state.items.push(other.item([change('later')]));
    state.items.push(me.item([change('mine')]));
    await waitFor(() => seen.length === 1, 2000, 'the later item');
    clock += 1000;
    state.items.push(early);
    await waitFor(() => seen.length === 2, 2000, 'the late item');
    const polls = me.polls;
    await waitFor(() => me.polls > polls + 5, 2000, 'more polls');
    console.log(`  reported ${seen.join(', ')} over ${me.polls} polls`);
    assert.equal(seen, ['later', 'early']);
    clock += 10_000; // everything falls out of the window: nothing is reported again
    await waitFor(() => me.polls > polls + 10, 2000, 'more polls');
    assert.equal(seen, ['later', 'early']);
  } finally {
    await me.stop();
  }
});

test('after failed polls, the first successful one reports an empty list (drop caches), then the items', async () => {
  const { state, client } = scripted();
  const feed = new ChangeFeed(client, 't', 'me', { pollIntervalMs: 10, lookbackMs: 5000, ttlSeconds: 60, logger: silentLogger });
  const other = new ChangeFeed(client, 't', 'other', { pollIntervalMs: 10, lookbackMs: 5000, ttlSeconds: 60, logger: silentLogger });
  const seen: string[][] = [];
  feed.start((c) => seen.push(c.map((x) => x.device ?? '')));
  try {
    await waitFor(() => feed.polls > 0, 2000, 'a first poll');
    state.down = true;
    const q = state.queries;
    await waitFor(() => state.queries > q + 3, 2000, 'failing polls');
    state.items.push(other.item([change('during')]));
    assert.equal(seen, []);
    state.down = false;
    await waitFor(() => seen.length === 2, 2000, 'recovery');
    assert.equal(seen, [[], ['during']]);
  } finally {
    await feed.stop();
  }
});

test.run();
