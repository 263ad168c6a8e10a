// The registry in DynamoDB: a RegistryBackend (connectors/registry/backend.ts) over four tables
// (tables.ts). It only persists; Drogue's rules are the store's. Reads are consistent. A commit is
// one TransactWriteItems: a put carries a condition on the stored `revision` (or its absence), a
// delete on the revision, an alias claim "absent, or already this target's"; one failed condition
// cancels the whole transaction and is MOORING_CONFLICT. A concurrent transaction on the same
// items (TransactionConflict) is retried a few times, then MOORING_UNAVAILABLE. The device
// authentication path (findDeviceByAlias) is two GetItems, never a scan.

import {
  GetItemCommand, QueryCommand, ScanCommand, TransactWriteItemsCommand,
  type ConditionCheck, type DynamoDBClient, type Put, type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import { MooringError } from '../../events/errors.ts';
import type { RegistryChange } from '../../functions/ports/registry.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import type { BackendWrite, RegistryBackend, StoredApplication, StoredDevice } from '../registry/backend.ts';
import { ChangeFeed, type Change } from './changes.ts';
import { createDynamoClient, type DynamoClientOptions } from './client.ts';
import { fromAwsError } from './errors.ts';
import {
  applicationFromItem, applicationItem, deviceFromItem, deviceItem, ensureTables, n, s, scopeKey, str, tableNames,
  type Item, type TableNames,
} from './tables.ts';

/** DynamoDB's limit of items in one TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100;

export interface DynamoRegistryOptions extends DynamoClientOptions {
  tablePrefix?: string;
  /** Names this process in the changes table; default random. */
  instanceId?: string;
  pollIntervalMs?: number;
  lookbackMs?: number;
  logger?: Logger;
}

type Listener = (changes: readonly RegistryChange[]) => void;

const CONFLICT_RETRIES = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function describe(w: BackendWrite): string {
  switch (w.op) {
    case 'putApplication': return `application '${w.record.resource.metadata.name}' (${w.expect === 'absent' ? 'exists' : 'changed meanwhile'})`;
    case 'deleteApplication': return `application '${w.name}' (changed meanwhile)`;
    case 'putDevice': return `device '${w.record.resource.metadata.application}/${w.record.resource.metadata.name}' (${w.expect === 'absent' ? 'exists' : 'changed meanwhile'})`;
    case 'deleteDevice': return `device '${w.application}/${w.name}' (changed meanwhile)`;
    case 'claimAlias': return `alias '${w.alias.value}'${w.alias.scope ? ` in application '${w.alias.scope}'` : ''} (held by another resource)`;
    case 'releaseAlias': return `alias '${w.alias.value}'`;
    case 'checkApplication': return `application '${w.name}' (changed meanwhile)`;
  }
}

export class DynamoRegistryBackend implements RegistryBackend {
  readonly client: DynamoDBClient;
  readonly tables: TableNames;
  readonly instanceId: string;
  readonly #feed: ChangeFeed;
  readonly #logger: Logger;
  readonly #listeners = new Set<Listener>();
  #closed = false;

  constructor(opts: DynamoRegistryOptions = {}) {
    this.client = createDynamoClient(opts);
    this.tables = tableNames(opts.tablePrefix ?? 'mooring-');
    this.instanceId = opts.instanceId ?? randomBytes(6).toString('hex');
    this.#logger = opts.logger ?? silentLogger;
    this.#feed = new ChangeFeed(this.client, this.tables.changes, this.instanceId, {
      pollIntervalMs: opts.pollIntervalMs ?? 250,
      lookbackMs: opts.lookbackMs ?? 5000,
      ttlSeconds: 3600,
      logger: this.#logger,
    });
  }

  /** A backend whose tables exist (created when missing, waited for until ACTIVE). */
  static async open(opts: DynamoRegistryOptions = {}): Promise<DynamoRegistryBackend> {
    const backend = new DynamoRegistryBackend(opts);
    try {
      await backend.ensureTables();
    } catch (err) {
      await backend.close();
      throw err;
    }
    return backend;
  }

  ensureTables(): Promise<void> {
    return ensureTables(this.client, this.tables);
  }

  async #get(table: string, key: Item, doing: string): Promise<Item | undefined> {
    this.#checkOpen();
    try {
      return (await this.client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
    } catch (err) {
      throw fromAwsError(err, doing);
    }
  }

  async getApplication(name: string): Promise<StoredApplication | undefined> {
    const item = await this.#get(this.tables.applications, { name: s(name) }, 'reading an application');
    return item && applicationFromItem(item);
  }

  async getDevice(application: string, name: string): Promise<StoredDevice | undefined> {
    const item = await this.#get(this.tables.devices, { application: s(application), name: s(name) }, 'reading a device');
    return item && deviceFromItem(item);
  }

  async findDeviceByAlias(application: string, alias: string): Promise<StoredDevice | undefined> {
    if (application === '') return undefined; // scope '' holds application aliases
    const claim = await this.#get(this.tables.aliases, { scope: s(scopeKey(application)), value: s(alias) }, 'reading an alias');
    return claim ? this.getDevice(application, str(claim, 'target')) : undefined;
  }

  async #all(command: () => ScanCommand | QueryCommand, doing: string, start?: Item): Promise<Item[]> {
    this.#checkOpen();
    const out: Item[] = [];
    try {
      do {
        const cmd = command();
        cmd.input.ExclusiveStartKey = start;
        const page = await this.client.send(cmd as QueryCommand);
        out.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      throw fromAwsError(err, doing);
    }
    return out;
  }

  async listApplications(): Promise<StoredApplication[]> {
    const items = await this.#all(() => new ScanCommand({ TableName: this.tables.applications, ConsistentRead: true }), 'listing applications');
    return items.map(applicationFromItem);
  }

  async listDevices(application: string): Promise<StoredDevice[]> {
    const items = await this.#all(() => new QueryCommand({
      TableName: this.tables.devices,
      KeyConditionExpression: '#app = :app',
      ExpressionAttributeNames: { '#app': 'application' },
      ExpressionAttributeValues: { ':app': s(application) },
      ConsistentRead: true,
    }), 'listing devices');
    return items.map(deviceFromItem);
  }

  /**
   * One transaction item per write (DynamoDB allows one per item): an alias written twice in one
   * commit keeps its last write; a record written twice is refused.
   */
  #transactItems(writes: readonly BackendWrite[]): { items: TransactWriteItem[]; sources: BackendWrite[] } {
    const byKey = new Map<string, { item: TransactWriteItem; source: BackendWrite }>();
    type Condition = Pick<Put, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>;
    const revision = (expect: 'absent' | { revision: number }, pk: string): Condition => expect === 'absent'
      ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': pk } }
      : { ConditionExpression: '#rev = :rev', ExpressionAttributeNames: { '#rev': 'revision' }, ExpressionAttributeValues: { ':rev': n(expect.revision) } };
    for (const w of writes) {
      let key: string;
      let item: TransactWriteItem;
      switch (w.op) {
        case 'putApplication':
          key = `a\0${w.record.resource.metadata.name}`;
          item = { Put: { TableName: this.tables.applications, Item: applicationItem(w.record), ...revision(w.expect, 'name') } };
          break;
        case 'deleteApplication':
          key = `a\0${w.name}`;
          item = { Delete: { TableName: this.tables.applications, Key: { name: s(w.name) }, ...revision(w.expect, 'name') } };
          break;
        case 'putDevice':
          key = `d\0${w.record.resource.metadata.application}\0${w.record.resource.metadata.name}`;
          item = { Put: { TableName: this.tables.devices, Item: deviceItem(w.record), ...revision(w.expect, 'application') } };
          break;
        case 'deleteDevice':
          key = `d\0${w.application}\0${w.name}`;
          item = { Delete: { TableName: this.tables.devices, Key: { application: s(w.application), name: s(w.name) }, ...revision(w.expect, 'application') } };
          break;
        case 'claimAlias': {
          key = `l\0${w.alias.scope}\0${w.alias.value}`;
          // Released earlier in this commit: free by then, whoever held it.
          const released = byKey.get(key)?.item.Delete !== undefined;
          item = { Put: {
            TableName: this.tables.aliases,
            Item: { scope: s(scopeKey(w.alias.scope)), value: s(w.alias.value), type: s(w.alias.type), target: s(w.alias.target) },
            ...(released ? {} : {
              ConditionExpression: 'attribute_not_exists(#scope) OR #target = :target',
              ExpressionAttributeNames: { '#scope': 'scope', '#target': 'target' },
              ExpressionAttributeValues: { ':target': s(w.alias.target) },
            }),
          } };
          break;
        }
        case 'releaseAlias':
          key = `l\0${w.alias.scope}\0${w.alias.value}`;
          item = { Delete: { TableName: this.tables.aliases, Key: { scope: s(scopeKey(w.alias.scope)), value: s(w.alias.value) } } };
          break;
        case 'checkApplication':
          key = `a\0${w.name}`;
          item = { ConditionCheck: { TableName: this.tables.applications, Key: { name: s(w.name) }, ...revision(w.expect, 'name') } as ConditionCheck };
          break;
      }
      const before = byKey.get(key)?.source;
      if (before && !key.startsWith('l')) {
        // A check beside a write of the same application: the write's own condition decides,
        // when the two expect the same revision (otherwise both cannot hold).
        const check = w.op === 'checkApplication' ? w : before.op === 'checkApplication' ? before : undefined;
        const other = check === w ? before : w;
        const expect = 'expect' in other ? other.expect : undefined;
        if (!check) throw new MooringError('MOORING_INVALID_REQUEST', `one commit writes ${describe(w).replace(/ \(.*\)$/, '')} twice`);
        if (expect === 'absent' || expect?.revision !== check.expect.revision) {
          throw new MooringError('MOORING_CONFLICT', `conflict: ${describe(check)}`);
        }
        if (w === check) continue;
      }
      byKey.delete(key); // a re-write moves to the end, so sources stay in write order
      byKey.set(key, { item, source: w });
    }
    const entries = [...byKey.values()];
    return { items: entries.map((e) => e.item), sources: entries.map((e) => e.source) };
  }

  async commit(writes: readonly BackendWrite[], changes: readonly Change[]): Promise<void> {
    this.#checkOpen();
    if (writes.length === 0) return;
    const { items, sources } = this.#transactItems(writes);
    if (items.length > MAX_TRANSACTION_ITEMS) {
      throw new MooringError('MOORING_INVALID_REQUEST', `a DynamoDB commit takes at most ${MAX_TRANSACTION_ITEMS} writes, got ${items.length}`);
    }
    // The change item rides in the transaction when there is room; a commit of exactly 100 writes
    // announces itself right after (a failure there is logged: the commit itself is durable).
    const inside = items.length < MAX_TRANSACTION_ITEMS;
    const announce = (): TransactWriteItem => ({ Put: { TableName: this.tables.changes, Item: this.#feed.item(changes) } });
    await this.#transact(inside ? [...items, announce()] : items, sources);
    if (!inside) await this.#announceAfter(announce);
    this.#emit(changes.map((c) => ({ ...c, origin: 'local' as const })));
  }

  async #transact(items: TransactWriteItem[], sources: readonly BackendWrite[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return;
      } catch (err) {
        const e = err as { name?: string; CancellationReasons?: Array<{ Code?: string; Message?: string }> };
        if (e.name !== 'TransactionCanceledException') throw fromAwsError(err, 'committing registry writes');
        const reasons = e.CancellationReasons ?? [];
        const failed = reasons.flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' && sources[i] ? [sources[i]] : []));
        if (failed.length > 0) {
          throw new MooringError('MOORING_CONFLICT', `conflict: ${failed.map(describe).join('; ')}`, { cause: err });
        }
        const invalid = reasons.find((r) => r.Code === 'ValidationError');
        if (invalid) throw new MooringError('MOORING_INVALID_REQUEST', `DynamoDB refused the commit: ${invalid.Message ?? ''}`, { cause: err });
        // TransactionConflict (another transaction on these items), throttling: the conditions
        // have not been judged, so a retry decides.
        if (attempt >= CONFLICT_RETRIES) throw fromAwsError(err, `committing registry writes (${reasons.map((r) => r.Code).join(',')})`);
        await sleep(Math.random() * 10 * 2 ** Math.min(attempt, 5));
      }
    }
  }

  async #announceAfter(announce: () => TransactWriteItem): Promise<void> {
    const put = announce().Put!;
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: put }] }));
    } catch (err) {
      this.#logger.error({ err }, 'registry: a 100-write commit is durable but could not be announced to other instances');
    }
  }

  #emit(changes: readonly RegistryChange[]): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(changes);
      } catch (err) {
        this.#logger.error({ err }, 'registry: a change listener failed');
      }
    }
  }

  onChanges(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (!this.#closed && !this.#feed.running) {
      this.#feed.start((changes) => this.#emit(changes.map((c) => ({ ...c, origin: 'remote' as const }))));
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) void this.#feed.stop();
    };
  }

  /** Successful polls of the change feed so far (tests, diagnostics). */
  get feedPolls(): number {
    return this.#feed.polls;
  }

  #checkOpen(): void {
    if (this.#closed) throw new MooringError('MOORING_UNAVAILABLE', 'the DynamoDB registry backend is closed');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await this.#feed.stop();
    this.client.destroy();
  }
}

