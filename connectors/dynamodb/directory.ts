// The ConnectionDirectory (functions/ports/directory.ts) on DynamoDB: the instances of one
// deployment share it, so a command goes to the one instance holding the device, a connection to
// another instance takes the device over, and a survivor says goodbye for a dead instance. Tables:
//
//   <prefix>connections  pk application, sk device   instance, token, farewell   (GSI by-instance)
//   <prefix>leases       pk instance                  expires (ms), ttl (TTL, s)
//   <prefix>losses       pk instance, sk token        entry (JSON), farewell, ttl (TTL, s)
//
// Every change is a conditional write: a claim puts the entry when it is absent or this
// instance's, or replaces the entry of a dead (or forced-away) holder on that holder's token; a
// release deletes on instance and token; a reap deletes each entry of a dead instance on its token
// in one transaction with a check that the lease is still expired, so each entry goes to one
// caller. Liveness is decided by comparing a lease's `expires` with the clock, never by DynamoDB's
// lazy TTL deletion (`ttl`, a day later, only keeps the tables small). A loss is an item of the
// holder's in `losses`; the holder reads and deletes them on every refresh and, while it listens,
// every `pollIntervalMs` (default 250 ms), so a takeover across processes waits one poll, not a TTL.

import {
  DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, ScanCommand, TransactWriteItemsCommand, UpdateItemCommand,
  type DynamoDBClient, type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { MooringError } from '../../events/errors.ts';
import type {
  ClaimOptions, ClaimOutcome, ConnectionDirectory, ConnectionEntry, ConnectionRef, LostConnection,
} from '../../functions/ports/directory.ts';
import { silentLogger, systemClock, type Clock, type Logger } from '../../functions/ports/runtime.ts';
import { createDynamoClient, type DynamoClientOptions } from './client.ts';
import { request } from './errors.ts';
import { allItems, createTables, hashOnly, hashRange, n, num, s, str, takeItem, type Item } from './tables.ts';

export interface DirectoryTableNames {
  connections: string;
  leases: string;
  losses: string;
}

export function directoryTableNames(prefix: string): DirectoryTableNames {
  return { connections: `${prefix}connections`, leases: `${prefix}leases`, losses: `${prefix}losses` };
}

export interface DynamoDirectoryOptions extends DynamoClientOptions {
  tablePrefix?: string;
  /** Lease lifetime after the last refresh (default 10 000 ms). */
  ttlMs?: number;
  clock?: Clock;
  /** How often a listening instance looks for its losses (default 250 ms). */
  pollIntervalMs?: number;
  logger?: Logger;
}

const BY_INSTANCE = 'by-instance';
/** DynamoDB's TTL removes leases and losses this long after they stopped mattering. */
const KEEP_S = 24 * 3600;
const CLAIM_ATTEMPTS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const failedCondition = (err: unknown): boolean => {
  const name = (err as { name?: string }).name;
  return name === 'ConditionalCheckFailedException' || name === 'TransactionCanceledException';
};

function entryItem(e: ConnectionEntry): Item {
  return {
    application: s(e.application), device: s(e.device), instance: s(e.instance), token: s(e.token),
    ...(e.farewell === undefined ? {} : { farewell: s(e.farewell) }),
  };
}

function entryFromItem(item: Item): ConnectionEntry {
  const farewell = item.farewell?.S;
  return {
    application: str(item, 'application'), device: str(item, 'device'), instance: str(item, 'instance'), token: str(item, 'token'),
    ...(farewell === undefined ? {} : { farewell }),
  };
}

export class DynamoConnectionDirectory implements ConnectionDirectory {
  readonly ttlMs: number;
  readonly client: DynamoDBClient;
  readonly tables: DirectoryTableNames;
  readonly #clock: Clock;
  readonly #pollMs: number;
  readonly #logger: Logger;
  readonly #listeners = new Map<string, { set: Set<(lost: LostConnection) => void>; timer: NodeJS.Timeout }>();
  /** Per instance, the poll of its losses in flight: polls run one after another. */
  readonly #polls = new Map<string, Promise<void>>();
  #closed = false;

  constructor(opts: DynamoDirectoryOptions = {}) {
    this.client = createDynamoClient(opts);
    this.tables = directoryTableNames(opts.tablePrefix ?? 'mooring-');
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.#clock = opts.clock ?? systemClock;
    this.#pollMs = opts.pollIntervalMs ?? 250;
    this.#logger = opts.logger ?? silentLogger;
  }

  /** A directory whose tables exist (created when missing). */
  static async open(opts: DynamoDirectoryOptions = {}): Promise<DynamoConnectionDirectory> {
    const d = new DynamoConnectionDirectory(opts);
    try {
      const connections = hashRange(d.tables.connections, 'application', 'device');
      connections.AttributeDefinitions!.push({ AttributeName: 'instance', AttributeType: 'S' });
      connections.GlobalSecondaryIndexes = [{
        IndexName: BY_INSTANCE, KeySchema: [{ AttributeName: 'instance', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' },
      }];
      await createTables(d.client, [connections, hashOnly(d.tables.leases, 'instance'), hashRange(d.tables.losses, 'instance', 'token')], [
        { table: d.tables.leases, attribute: 'ttl' }, { table: d.tables.losses, attribute: 'ttl' },
      ]);
    } catch (err) {
      await d.close();
      throw err;
    }
    return d;
  }

  #send<T>(doing: string, run: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new MooringError('MOORING_UNAVAILABLE', 'the DynamoDB connection directory is closed'));
    return request(doing, run, failedCondition);
  }

  async #renew(instance: string): Promise<void> {
    const expires = this.#clock.now() + this.ttlMs;
    await this.#send('renewing a lease', () => this.client.send(new UpdateItemCommand({
      TableName: this.tables.leases, Key: { instance: s(instance) },
      UpdateExpression: 'SET #e = :e, #t = :t', ExpressionAttributeNames: { '#e': 'expires', '#t': 'ttl' },
      ExpressionAttributeValues: { ':e': n(expires), ':t': n(Math.floor(expires / 1000) + KEEP_S) },
    })));
  }

  async #alive(instance: string): Promise<boolean> {
    const item = (await this.#send('reading a lease', () => this.client.send(new GetItemCommand({
      TableName: this.tables.leases, Key: { instance: s(instance) }, ConsistentRead: true,
    })))).Item;
    return item !== undefined && num(item, 'expires') > this.#clock.now();
  }

  async #entry(application: string, device: string): Promise<ConnectionEntry | undefined> {
    const item = (await this.#send('reading a connection', () => this.client.send(new GetItemCommand({
      TableName: this.tables.connections, Key: { application: s(application), device: s(device) }, ConsistentRead: true,
    })))).Item;
    return item && entryFromItem(item);
  }

  #lossItem(lost: LostConnection): Item {
    return {
      instance: s(lost.entry.instance), token: s(lost.entry.token), entry: s(JSON.stringify(lost.entry)),
      farewell: { BOOL: lost.farewell }, ttl: n(Math.floor(this.#clock.now() / 1000) + KEEP_S),
    };
  }

  async refresh(instance: string): Promise<void> {
    await this.#renew(instance);
    await this.#poll(instance);
  }

  async claim(entry: ConnectionEntry, options: ClaimOptions = {}): Promise<ClaimOutcome> {
    await this.#renew(entry.instance);
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
      const cur = await this.#entry(entry.application, entry.device);
      try {
        if (cur === undefined || cur.instance === entry.instance) {
          await this.#send('claiming a connection', () => this.client.send(new PutItemCommand({
            TableName: this.tables.connections, Item: entryItem(entry),
            ConditionExpression: 'attribute_not_exists(#d) OR #i = :i',
            ExpressionAttributeNames: { '#d': 'device', '#i': 'instance' }, ExpressionAttributeValues: { ':i': s(entry.instance) },
          })));
          return { claimed: true };
        }
        if (options.force === true || !(await this.#alive(cur.instance))) {
          // The entry changes hands on the old token; the old holder, should it live, ends it silently.
          const items: TransactWriteItem[] = [
            { Put: {
              TableName: this.tables.connections, Item: entryItem(entry), ConditionExpression: '#t = :t',
              ExpressionAttributeNames: { '#t': 'token' }, ExpressionAttributeValues: { ':t': s(cur.token) },
            } },
            { Put: { TableName: this.tables.losses, Item: this.#lossItem({ entry: cur, farewell: false }) } },
          ];
          await this.#send('taking a connection over', () => this.client.send(new TransactWriteItemsCommand({ TransactItems: items })));
          this.#kick(cur.instance);
          return { claimed: true, orphan: cur };
        }
        await this.#send('telling a holder of its loss', () => this.client.send(new PutItemCommand({
          TableName: this.tables.losses, Item: this.#lossItem({ entry: cur, farewell: true }),
        })));
        this.#kick(cur.instance);
        return { claimed: false, holder: cur };
      } catch (err) {
        if (!failedCondition(err)) throw err;
        await sleep(Math.random() * 10 * attempt); // another writer won this round: read again
      }
    }
    throw new MooringError('MOORING_UNAVAILABLE', `claiming ${entry.application}/${entry.device}: ${CLAIM_ATTEMPTS} conflicting attempts`);
  }

  async release(ref: ConnectionRef): Promise<boolean> {
    try {
      await this.#send('releasing a connection', () => this.client.send(new DeleteItemCommand({
        TableName: this.tables.connections, Key: { application: s(ref.application), device: s(ref.device) },
        ConditionExpression: '#i = :i AND #t = :t', ExpressionAttributeNames: { '#i': 'instance', '#t': 'token' },
        ExpressionAttributeValues: { ':i': s(ref.instance), ':t': s(ref.token) },
      })));
      return true;
    } catch (err) {
      if (failedCondition(err)) return false;
      throw err;
    }
  }

  async lookup(application: string, device: string): Promise<ConnectionEntry | undefined> {
    const cur = await this.#entry(application, device);
    return cur !== undefined && await this.#alive(cur.instance) ? cur : undefined;
  }

  async waitReleased(application: string, device: string, token: string, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const cur = await this.#entry(application, device);
      if (cur === undefined || cur.token !== token || !(await this.#alive(cur.instance))) return true;
      const left = until - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(100, left));
    }
  }

  async reap(): Promise<ConnectionEntry[]> {
    const now = this.#clock.now();
    const dead = (await allItems((start) => this.#send('scanning leases', () => this.client.send(new ScanCommand({
      TableName: this.tables.leases, ConsistentRead: true, ExclusiveStartKey: start,
      FilterExpression: '#e <= :now', ExpressionAttributeNames: { '#e': 'expires' }, ExpressionAttributeValues: { ':now': n(now) },
    }))))).map((item) => str(item, 'instance'));
    const out: ConnectionEntry[] = [];
    for (const instance of dead) {
      const stillDead = { ConditionExpression: '#e <= :now', ExpressionAttributeNames: { '#e': 'expires' }, ExpressionAttributeValues: { ':now': n(now) } };
      for (const e of await this.#entriesOf(instance)) {
        const items: TransactWriteItem[] = [
          { Delete: {
            TableName: this.tables.connections, Key: { application: s(e.application), device: s(e.device) },
            ConditionExpression: '#t = :t', ExpressionAttributeNames: { '#t': 'token' }, ExpressionAttributeValues: { ':t': s(e.token) },
          } },
          // Should the instance come back, it ends these connections without a word.
          { Put: { TableName: this.tables.losses, Item: this.#lossItem({ entry: e, farewell: false }) } },
          { ConditionCheck: { TableName: this.tables.leases, Key: { instance: s(instance) }, ...stillDead } },
        ];
        try {
          await this.#send('reaping a connection', () => this.client.send(new TransactWriteItemsCommand({ TransactItems: items })));
          out.push(e);
        } catch (err) {
          if (!failedCondition(err)) throw err; // taken by a claim or another reaper, or the instance is back
        }
      }
      try {
        await this.#send('removing a lease', () => this.client.send(new DeleteItemCommand({
          TableName: this.tables.leases, Key: { instance: s(instance) }, ...stillDead,
        })));
      } catch (err) {
        if (!failedCondition(err)) throw err;
      }
    }
    return out;
  }

  async #entriesOf(instance: string): Promise<ConnectionEntry[]> {
    return (await allItems((start) => this.#send('listing a dead instance\'s connections', () => this.client.send(new QueryCommand({
      TableName: this.tables.connections, IndexName: BY_INSTANCE, ExclusiveStartKey: start,
      KeyConditionExpression: '#i = :i', ExpressionAttributeNames: { '#i': 'instance' }, ExpressionAttributeValues: { ':i': s(instance) },
    }))))).map(entryFromItem);
  }

  listen(instance: string, listener: (lost: LostConnection) => void): () => void {
    let l = this.#listeners.get(instance);
    if (l === undefined) {
      const timer = setInterval(() => { void this.#poll(instance).catch((err: unknown) => this.#logger.warn({ err }, 'connection directory: polling losses failed')); }, this.#pollMs);
      timer.unref();
      this.#listeners.set(instance, (l = { set: new Set(), timer }));
    }
    l.set.add(listener);
    this.#kick(instance);
    return () => {
      l.set.delete(listener);
      if (l.set.size === 0 && this.#listeners.get(instance) === l) {
        clearInterval(l.timer);
        this.#listeners.delete(instance);
      }
    };
  }

  /** Polls an instance's losses soon, when it listens in this process. */
  #kick(instance: string): void {
    if (!this.#listeners.has(instance)) return;
    queueMicrotask(() => { void this.#poll(instance).catch(() => undefined); });
  }

  /** Reads the instance's losses, deletes them and hands each to its listeners, once. */
  #poll(instance: string): Promise<void> {
    const run = async (): Promise<void> => {
      const l = this.#listeners.get(instance);
      if (l === undefined || this.#closed) return;
      const items = (await this.#send('reading losses', () => this.client.send(new QueryCommand({
        TableName: this.tables.losses, ConsistentRead: true,
        KeyConditionExpression: '#i = :i', ExpressionAttributeNames: { '#i': 'instance' }, ExpressionAttributeValues: { ':i': s(instance) },
      })))).Items ?? [];
      for (const item of items) {
        const old = await this.#send('taking a loss', () => takeItem(this.client, this.tables.losses, { instance: s(instance), token: item.token! }));
        if (old === undefined) continue;
        const lost: LostConnection = { entry: JSON.parse(str(old, 'entry')) as ConnectionEntry, farewell: old.farewell?.BOOL === true };
        for (const listener of [...l.set]) {
          try { listener(lost); } catch (err) { this.#logger.error({ err }, 'connection directory: a loss listener failed'); }
        }
      }
    };
    const next = (this.#polls.get(instance) ?? Promise.resolve()).catch(() => undefined).then(run);
    this.#polls.set(instance, next);
    void next.finally(() => { if (this.#polls.get(instance) === next) this.#polls.delete(instance); }).catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    for (const l of this.#listeners.values()) clearInterval(l.timer);
    this.#listeners.clear();
    await Promise.all([...this.#polls.values()].map((p) => p.catch(() => undefined)));
    this.#closed = true;
    this.client.destroy();
  }
}
