// The cross-instance change feed: every commit writes one item to the changes table (in its own
// transaction), and every instance with onChanges listeners polls the table's one partition for
// the items of the others, every `pollIntervalMs` (250 ms).
//
// Keys are `<commit time in ms, 15 digits>#<instance>#<n>`: ordered by time, unique. Two
// committers' clocks and transaction durations differ, so an item may become visible after one
// with a later key has been read; each poll therefore reads the whole recent window (keys newer
// than now − `lookbackMs`, 5 s) and skips the keys it has already seen. An item is missed only
// when it becomes visible more than `lookbackMs` after its key time (a very slow commit, or clocks
// more than that apart: keep hosts on NTP). After a failed poll the next successful one reports an
// empty change list first, so listeners drop what they cached during the outage.

import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RegistryChange } from '../../functions/ports/registry.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import { CHANGE_STREAM, n, s, str, type Item } from './tables.ts';

export type Change = Omit<RegistryChange, 'origin'>;

export interface ChangeFeedOptions {
  pollIntervalMs: number;
  lookbackMs: number;
  /** How long DynamoDB's TTL keeps a change item. */
  ttlSeconds: number;
  logger: Logger;
  /** The clock (tests). */
  now?: () => number;
}

const TIME_DIGITS = 15;

export class ChangeFeed {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #instance: string;
  readonly #opts: ChangeFeedOptions;
  readonly #now: () => number;
  #counter = 0;
  /** Keys already read → their key time, pruned once they fall out of the window. */
  readonly #seen = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #onRemote: ((changes: Change[]) => void) | undefined;
  #failing = false;
  #polls = 0;

  constructor(client: DynamoDBClient, table: string, instance: string, opts: ChangeFeedOptions) {
    this.#client = client;
    this.#table = table;
    this.#instance = instance;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Successful polls so far (tests, diagnostics). */
  get polls(): number {
    return this.#polls;
  }

  /** The item that announces `changes` to the other instances, written with the commit. */
  item(changes: readonly Change[]): Item {
    const time = this.#now();
    const key = `${String(time).padStart(TIME_DIGITS, '0')}#${this.#instance}#${String(this.#counter++).padStart(9, '0')}`;
    return {
      stream: s(CHANGE_STREAM),
      key: s(key),
      instance: s(this.#instance),
      changes: s(JSON.stringify(changes)),
      expires: n(Math.floor(time / 1000) + this.#opts.ttlSeconds),
    };
  }

  get running(): boolean {
    return this.#onRemote !== undefined;
  }

  start(onRemote: (changes: Change[]) => void): void {
    if (this.#onRemote) return;
    this.#onRemote = onRemote;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#onRemote = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#inFlight = this.#poll().finally(() => {
        this.#inFlight = undefined;
        if (this.#onRemote) this.#schedule(this.#opts.pollIntervalMs);
      });
    }, ms);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    const from = this.#now() - this.#opts.lookbackMs;
    const items: Item[] = [];
    try {
      let start: Item | undefined;
      do {
        const page = await this.#client.send(new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: '#stream = :stream AND #key > :from',
          ExpressionAttributeNames: { '#stream': 'stream', '#key': 'key' },
          ExpressionAttributeValues: { ':stream': s(CHANGE_STREAM), ':from': s(String(from).padStart(TIME_DIGITS, '0')) },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }));
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      if (!this.#failing) this.#opts.logger.warn({ err }, 'registry change feed: polling DynamoDB failed; retrying');
      this.#failing = true;
      return;
    }
    this.#polls++;
    const emit = this.#onRemote;
    if (!emit) return;
    if (this.#failing) {
      this.#failing = false;
      this.#opts.logger.info('registry change feed: polling DynamoDB again');
      emit([]);
    }
    for (const [key, time] of this.#seen) if (time <= from) this.#seen.delete(key);
    for (const item of items) {
      let key: string;
      let changes: Change[];
      try {
        key = str(item, 'key');
        if (this.#seen.has(key)) continue;
        this.#seen.set(key, Number(key.slice(0, TIME_DIGITS)));
        if (str(item, 'instance') === this.#instance) continue;
        changes = JSON.parse(str(item, 'changes')) as Change[];
      } catch (err) {
        this.#opts.logger.warn({ err }, 'registry change feed: an unreadable change item; dropping caches');
        changes = [];
      }
      emit(changes);
    }
  }
}
