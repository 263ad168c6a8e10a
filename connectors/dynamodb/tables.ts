// The registry's DynamoDB tables, their items and their creation. Every record is one item whose
// resource is kept as JSON text (`doc`), beside the attributes that are keys or conditions:
//
//   <prefix>applications  pk name                      revision, doc {resource, access}
//   <prefix>devices       pk application, sk name      revision, doc (the Device)
//   <prefix>aliases       pk scope, sk value           type, target   (scope `/<application>`, `/` global)
//   <prefix>changes       pk stream, sk key            instance, changes (JSON), expires (TTL)
//
// The changes table is the cross-instance notification: every commit writes one item (in the same
// transaction) on the single partition `registry`, keyed `<ms since epoch, 15 digits>#<instance>#<n>`,
// which the other instances poll (changes.ts). `expires` (epoch seconds) lets DynamoDB's TTL
// remove old items.

import {
  CreateTableCommand, DeleteItemCommand, DescribeTableCommand, UpdateTimeToLiveCommand, type AttributeValue,
  type CreateTableCommandInput, type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { StoredApplication, StoredDevice } from '../registry/backend.ts';
import { MooringError } from '../../events/errors.ts';
import { fromAwsError } from './errors.ts';

export interface TableNames {
  applications: string;
  devices: string;
  aliases: string;
  changes: string;
}

export function tableNames(prefix: string): TableNames {
  return {
    applications: `${prefix}applications`,
    devices: `${prefix}devices`,
    aliases: `${prefix}aliases`,
    changes: `${prefix}changes`,
  };
}

/** The one partition of the changes table. */
export const CHANGE_STREAM = 'registry';

export type Item = Record<string, AttributeValue>;

/** An alias scope as its key: DynamoDB keys cannot be empty, and `/` is in no application name. */
export function scopeKey(scope: string): string {
  return `/${scope}`;
}

export const s = (value: string): AttributeValue => ({ S: value });
export const n = (value: number): AttributeValue => ({ N: String(value) });

export function str(item: Item, name: string): string {
  const v = item[name];
  if (v === undefined || !('S' in v) || typeof v.S !== 'string') throw corrupt(name);
  return v.S;
}

export function num(item: Item, name: string): number {
  const v = item[name];
  const value = v !== undefined && 'N' in v ? Number(v.N) : NaN;
  if (!Number.isFinite(value)) throw corrupt(name);
  return value;
}

function corrupt(name: string): MooringError {
  return new MooringError('MOORING_INTERNAL', `a registry item in DynamoDB lacks a valid '${name}' attribute`);
}

export function applicationItem(record: StoredApplication): Item {
  return {
    name: s(record.resource.metadata.name),
    revision: n(record.revision),
    doc: s(JSON.stringify({ resource: record.resource, access: record.access })),
  };
}

export function applicationFromItem(item: Item): StoredApplication {
  const doc = JSON.parse(str(item, 'doc')) as Omit<StoredApplication, 'revision'>;
  return { resource: doc.resource, access: doc.access, revision: num(item, 'revision') };
}

export function deviceItem(record: StoredDevice): Item {
  return {
    application: s(record.resource.metadata.application),
    name: s(record.resource.metadata.name),
    revision: n(record.revision),
    doc: s(JSON.stringify(record.resource)),
  };
}

export function deviceFromItem(item: Item): StoredDevice {
  return { resource: JSON.parse(str(item, 'doc')) as StoredDevice['resource'], revision: num(item, 'revision') };
}

/** Every item of a paged Query or Scan: `page(start)` reads one page from `start`. */
export async function allItems(page: (start: Item | undefined) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>): Promise<Item[]> {
  const out: Item[] = [];
  let start: Item | undefined;
  do {
    const p = await page(start);
    out.push(...(p.Items ?? []));
    start = p.LastEvaluatedKey;
  } while (start);
  return out;
}

/**
 * Deletes the item at `key` and returns it, or undefined when it is gone: of several callers
 * taking one item at once exactly one gets it (a conditional delete, since an unconditional one
 * may hand the old item to more than one of them on DynamoDB Local).
 */
export async function takeItem(client: DynamoDBClient, table: string, key: Item): Promise<Item | undefined> {
  const pk = Object.keys(key)[0]!;
  try {
    return (await client.send(new DeleteItemCommand({
      TableName: table, Key: key, ReturnValues: 'ALL_OLD', ConditionExpression: 'attribute_exists(#pk)', ExpressionAttributeNames: { '#pk': pk },
    }))).Attributes;
  } catch (err) {
    if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return undefined;
    throw err;
  }
}

/** A table keyed by `pk` alone, billed per request. */
export function hashOnly(table: string, pk: string): CreateTableCommandInput {
  return {
    TableName: table,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: pk, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: pk, KeyType: 'HASH' }],
  };
}

/** A table keyed by `pk` and `sk`, billed per request. */
export function hashRange(table: string, pk: string, sk: string): CreateTableCommandInput {
  return {
    TableName: table,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: pk, AttributeType: 'S' }, { AttributeName: sk, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: pk, KeyType: 'HASH' }, { AttributeName: sk, KeyType: 'RANGE' }],
  };
}

function definitions(names: TableNames): CreateTableCommandInput[] {
  return [
    hashOnly(names.applications, 'name'),
    hashRange(names.devices, 'application', 'name'),
    hashRange(names.aliases, 'scope', 'value'),
    hashRange(names.changes, 'stream', 'key'),
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Creates the registry's tables that are missing (idempotent, safe for instances starting
 * together), waits until all are ACTIVE, and enables TTL on the changes table.
 */
export function ensureTables(client: DynamoDBClient, names: TableNames, timeoutMs = 60_000): Promise<void> {
  return createTables(client, definitions(names), [{ table: names.changes, attribute: 'expires' }], timeoutMs);
}

/**
 * Creates the tables of `defs` that are missing, waits until all are ACTIVE, and enables
 * DynamoDB's TTL on the attribute named for each table of `ttl` (where the service supports it).
 */
export async function createTables(
  client: DynamoDBClient, defs: readonly CreateTableCommandInput[], ttl: ReadonlyArray<{ table: string; attribute: string }>, timeoutMs = 60_000,
): Promise<void> {
  await Promise.all(defs.map(async (def) => {
    try {
      await client.send(new CreateTableCommand(def));
    } catch (err) {
      if ((err as { name?: string }).name !== 'ResourceInUseException') throw fromAwsError(err, `creating table ${def.TableName}`);
    }
  }));
  const until = Date.now() + timeoutMs;
  for (const def of defs) {
    for (;;) {
      let status: string | undefined;
      try {
        status = (await client.send(new DescribeTableCommand({ TableName: def.TableName }))).Table?.TableStatus;
      } catch (err) {
        if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw fromAwsError(err, `describing table ${def.TableName}`);
      }
      if (status === 'ACTIVE') break;
      if (Date.now() > until) throw new MooringError('MOORING_UNAVAILABLE', `DynamoDB table ${def.TableName} is not ACTIVE after ${timeoutMs} ms (${status ?? 'missing'})`);
      await sleep(200);
    }
  }
  for (const { table, attribute } of ttl) {
    try {
      await client.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }));
    } catch (err) {
      // Already enabled (ValidationException "TimeToLive is already enabled"), or unsupported: the
      // readers compare times themselves, so old items cost storage, not correctness.
      if ((err as { name?: string }).name !== 'ValidationException') throw fromAwsError(err, `enabling TTL on ${table}`);
    }
  }
}
