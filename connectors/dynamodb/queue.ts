// The CommandQueue (functions/ports/command-queue.ts) on DynamoDB, shared by the instances of one
// deployment: a command queued by the instance that handled the API call is taken by whichever
// instance the device connects to. One table:
//
//   <prefix>commands  pk queue (`<application>/<target>`), sk key   event (structured JSON), expiresAt (ms), ttl (TTL, s)
//
// Keys are `<put time in ms, 15 digits>#<instance>#<n>`, so a queue reads oldest first (across
// instances, as far as their clocks agree). `take` deletes each item with ReturnValues before
// handing it out, so two instances taking at once never both get a command. Expiry compares
// `expiresAt` with the clock; DynamoDB's TTL (`ttl`) only clears what nobody took. The bound per
// target is checked with a count before the put: instances putting at the same moment may pass it
// by a few. `stats()` counts what this process did.

import { PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { decodeStructured, encodeStructured } from '../../events/bindings/structured.ts';
import { MooringError } from '../../events/errors.ts';
import type { CommandQueue, QueueStats } from '../../functions/ports/command-queue.ts';
import { systemClock, type Clock } from '../../functions/ports/runtime.ts';
import { createDynamoClient, type DynamoClientOptions } from './client.ts';
import { request } from './errors.ts';
import { allItems, createTables, hashRange, n, num, s, str, takeItem, type Item } from './tables.ts';

export interface DynamoQueueOptions extends DynamoClientOptions {
  tablePrefix?: string;
  /** Commands kept per target connection (default 1000); more are refused. */
  maxPerTarget?: number;
  clock?: Clock;
  /** Names this process in the keys; default random. */
  instanceId?: string;
}

const TIME_DIGITS = 15;

export class DynamoCommandQueue implements CommandQueue {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly #max: number;
  readonly #clock: Clock;
  readonly #instance: string;
  readonly #counters: QueueStats = { queued: 0, taken: 0, expired: 0, refused: 0 };
  #counter = 0;
  #closed = false;

  constructor(opts: DynamoQueueOptions = {}) {
    this.client = createDynamoClient(opts);
    this.table = `${opts.tablePrefix ?? 'mooring-'}commands`;
    this.#max = opts.maxPerTarget ?? 1000;
    this.#clock = opts.clock ?? systemClock;
    this.#instance = opts.instanceId ?? randomBytes(6).toString('hex');
  }

  /** A queue whose table exists (created when missing). */
  static async open(opts: DynamoQueueOptions = {}): Promise<DynamoCommandQueue> {
    const q = new DynamoCommandQueue(opts);
    try {
      await createTables(q.client, [hashRange(q.table, 'queue', 'key')], [{ table: q.table, attribute: 'ttl' }]);
    } catch (err) {
      q.close();
      throw err;
    }
    return q;
  }

  #send<T>(doing: string, run: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new MooringError('MOORING_UNAVAILABLE', 'the DynamoDB command queue is closed'));
    return request(doing, run);
  }

  /** The target's items, oldest first (only the live ones when `live`). */
  #items(queue: string, live: boolean): Promise<Item[]> {
    return allItems((start) => this.#send('reading a command queue', () => this.client.send(new QueryCommand({
      TableName: this.table, ConsistentRead: true, ExclusiveStartKey: start,
      KeyConditionExpression: '#q = :q', ExpressionAttributeNames: { '#q': 'queue', ...(live ? { '#x': 'expiresAt' } : {}) },
      ExpressionAttributeValues: { ':q': s(queue), ...(live ? { ':now': n(this.#clock.now()) } : {}) },
      ...(live ? { FilterExpression: '#x > :now', ProjectionExpression: '#q' } : {}),
    }))));
  }

  async put(application: string, target: string, event: CloudEvent, expiresAt: number): Promise<boolean> {
    const queue = `${application}/${target}`;
    if ((await this.#items(queue, true)).length >= this.#max) {
      this.#counters.refused++;
      return false;
    }
    const key = `${String(this.#clock.now()).padStart(TIME_DIGITS, '0')}#${this.#instance}#${String(this.#counter++).padStart(9, '0')}`;
    await this.#send('queueing a command', () => this.client.send(new PutItemCommand({
      TableName: this.table,
      Item: {
        queue: s(queue), key: s(key), event: s(encodeStructured(event).toString('utf8')),
        expiresAt: n(expiresAt), ttl: n(Math.ceil(expiresAt / 1000) + 3600),
      },
    })));
    this.#counters.queued++;
    return true;
  }

  async take(application: string, target: string): Promise<CloudEvent[]> {
    const queue = `${application}/${target}`;
    const out: CloudEvent[] = [];
    const now = this.#clock.now();
    for (const item of await this.#items(queue, false)) {
      const old = await this.#send('taking a queued command', () => takeItem(this.client, this.table, { queue: s(queue), key: item.key! }));
      if (old === undefined) continue; // another instance took it
      this.#counters.queued--;
      if (num(old, 'expiresAt') <= now) {
        this.#counters.expired++;
        continue;
      }
      this.#counters.taken++;
      out.push(decodeStructured(str(old, 'event')));
    }
    return out;
  }

  stats(): QueueStats {
    return { ...this.#counters };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.client.destroy();
  }
}
