// The DynamoDB module of infra/terraform cannot be planned here (no AWS provider can be had), so
// its HCL is parsed (@cdktn/hcl2json): the table list local.tables, and the one resource that turns
// each entry into a table, field by field. Every table is compared with what the adapters of
// connectors/dynamodb create when they open on an empty DynamoDB Local: the same tables, keys,
// attribute types, global secondary indexes, TTL attribute, stream setting and billing mode. The
// adapters stay the one source of truth; a change on either side fails here.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parse } from '@cdktn/hcl2json';
import {
  DescribeTableCommand, DescribeTimeToLiveCommand, ListTablesCommand, type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VARIABLES } from '../../cli/config.ts';
import { createDynamoClient } from '../../connectors/dynamodb/client.ts';
import { DynamoCommandQueue, DynamoConnectionDirectory, DynamoRegistryBackend } from '../../connectors/dynamodb/index.ts';
import { DynamoTokenStore } from '../../connectors/dynamodb/tokens.ts';
import { ensureDynamo, uniquePrefix } from '../connectors/dynamodb/helper.ts';
import { TERRAFORM_DIR } from '../helpers/tofu.ts';

/** One table as both sides describe it; names without the prefix. */
interface TableShape {
  hash: string;
  range: string | null;
  attributes: Record<string, string>;
  indexes: Record<string, { hash: string; range: string | null; projection: string }>;
  ttl: string | null;
  stream: boolean;
  billing: string;
}

/** The one aws_dynamodb_table resource, for_each over local.tables, wired field by field. */
const WIRING = {
  for_each: '${local.tables}',
  name: '${var.table_prefix}${each.key}',
  billing_mode: 'PAY_PER_REQUEST',
  hash_key: '${each.value.hash_key}',
  range_key: '${each.value.range_key}',
  stream_enabled: false,
  dynamic: {
    attribute: [{ content: [{ name: '${attribute.key}', type: '${attribute.value}' }], for_each: '${each.value.attributes}' }],
    global_secondary_index: [{
      content: [{
        hash_key: '${global_secondary_index.value.hash_key}', name: '${global_secondary_index.key}',
        projection_type: '${global_secondary_index.value.projection_type}', range_key: '${global_secondary_index.value.range_key}',
      }],
      for_each: '${each.value.indexes}',
    }],
    ttl: [{ content: [{ attribute_name: '${ttl.value}', enabled: true }], for_each: '${each.value.ttl == null ? [] : [each.value.ttl]}' }],
  },
};

interface HclTable {
  hash_key: string;
  range_key: string | null;
  attributes: Record<string, string>;
  ttl: string | null;
  indexes: Record<string, { hash_key: string; range_key: string | null; projection_type: string }>;
}

/**
 * The tables of the module in `dir` by name suffix: local.tables as parsed, after checking that the
 * aws_dynamodb_table resource turns each entry into exactly those keys, attributes, indexes and TTL
 * (and no stream, billing per request).
 */
async function tablesFromHcl(dir: string): Promise<Map<string, TableShape>> {
  const out = new Map<string, TableShape>();
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.tf')).sort()) {
    const json = await parse(f, await readFile(join(dir, f), 'utf8')) as {
      locals?: Array<{ tables?: Record<string, HclTable> }>;
      resource?: { aws_dynamodb_table?: Record<string, Array<Record<string, unknown>>> };
    };
    for (const [label, [r]] of Object.entries(json.resource?.aws_dynamodb_table ?? {})) {
      const wiring = Object.fromEntries(Object.keys(WIRING).map((k) => [k, r![k]]));
      assert.equal(wiring, WIRING, `${f}: aws_dynamodb_table.${label} is not wired to local.tables as expected`);
    }
    for (const [name, t] of Object.entries(json.locals?.find((l) => l.tables)?.tables ?? {})) {
      out.set(name, {
        hash: t.hash_key,
        range: t.range_key,
        attributes: Object.fromEntries(Object.entries(t.attributes).sort()),
        indexes: Object.fromEntries(Object.entries(t.indexes).map(([n, g]) => [n, { hash: g.hash_key, range: g.range_key, projection: g.projection_type }])),
        ttl: t.ttl,
        stream: WIRING.stream_enabled,
        billing: WIRING.billing_mode,
      });
    }
  }
  return out;
}

/** The tables of `prefix` on DynamoDB, described. */
async function tablesFromDynamo(client: DynamoDBClient, prefix: string): Promise<Map<string, TableShape>> {
  const names: string[] = [];
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    names.push(...(page.TableNames ?? []).filter((n) => n.startsWith(prefix)));
    start = page.LastEvaluatedTableName;
  } while (start);
  const out = new Map<string, TableShape>();
  for (const name of names.sort()) {
    const t = (await client.send(new DescribeTableCommand({ TableName: name }))).Table!;
    const ttl = (await client.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription;
    const key = (schema: typeof t.KeySchema, type: 'HASH' | 'RANGE') => schema?.find((k) => k.KeyType === type)?.AttributeName ?? null;
    out.set(name.slice(prefix.length), {
      hash: key(t.KeySchema, 'HASH')!,
      range: key(t.KeySchema, 'RANGE'),
      attributes: Object.fromEntries((t.AttributeDefinitions ?? []).map((a) => [a.AttributeName!, a.AttributeType!] as [string, string]).sort()),
      indexes: Object.fromEntries((t.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName!, {
        hash: key(g.KeySchema, 'HASH')!, range: key(g.KeySchema, 'RANGE'), projection: g.Projection?.ProjectionType ?? 'ALL',
      }])),
      ttl: ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING' ? ttl.AttributeName ?? null : null,
      stream: t.StreamSpecification?.StreamEnabled === true,
      billing: t.BillingModeSummary?.BillingMode ?? 'PROVISIONED',
    });
  }
  return out;
}

/** Every adapter of connectors/dynamodb opened once on `prefix`, so each creates its tables. */
async function openAdapters(endpoint: string, prefix: string): Promise<DynamoDBClient> {
  const backend = await DynamoRegistryBackend.open({ endpoint, tablePrefix: prefix });
  const directory = await DynamoConnectionDirectory.open({ endpoint, tablePrefix: prefix });
  const queue = await DynamoCommandQueue.open({ endpoint, tablePrefix: prefix });
  const client = createDynamoClient({ endpoint });
  await DynamoTokenStore.open(client, prefix);
  await directory.close();
  queue.close();
  await backend.close();
  return client;
}

/** The differences between the adapters' tables and the module's, as readable lines. */
function differences(adapters: Map<string, TableShape>, module: Map<string, TableShape>): string[] {
  const out: string[] = [];
  for (const name of new Set([...adapters.keys(), ...module.keys()])) {
    const a = adapters.get(name);
    const m = module.get(name);
    if (!a) out.push(`${name}: in the module, not created by the adapters`);
    else if (!m) out.push(`${name}: created by the adapters, missing from the module`);
    else {
      for (const k of Object.keys(a) as Array<keyof TableShape>) {
        if (JSON.stringify(a[k]) !== JSON.stringify(m[k])) out.push(`${name}.${k}: adapters ${JSON.stringify(a[k])}, module ${JSON.stringify(m[k])}`);
      }
    }
  }
  return out;
}

const MODULE = join(TERRAFORM_DIR, 'modules/dynamodb');

test('the dynamodb module declares exactly the tables, keys, indexes, TTL and streams the adapters create', async () => {
  const endpoint = await ensureDynamo();
  const prefix = uniquePrefix('tfschema');
  const client = await openAdapters(endpoint, prefix);
  const adapters = await tablesFromDynamo(client, prefix);
  client.destroy();
  const module = await tablesFromHcl(MODULE);
  const diff = differences(adapters, module);
  const ttl = [...module.values()].filter((t) => t.ttl !== null).length;
  const gsi = [...module.values()].reduce((n, t) => n + Object.keys(t.indexes).length, 0);
  console.log(`dynamodb schema: ${adapters.size} adapter tables, ${module.size} module tables, ${ttl} with TTL, ${gsi} GSI, ${diff.length} differences`);
  assert.equal(diff, [], diff.join('\n'));
  assert.ok(adapters.size >= 9, `the adapters created ${adapters.size} tables`);
});

test('the comparison catches a dropped index, a changed key, a missing TTL and a stream', async () => {
  const module = await tablesFromHcl(MODULE);
  const copy = (): Map<string, TableShape> => new Map([...module].map(([k, v]) => [k, structuredClone(v)]));
  const noIndex = copy();
  noIndex.get('connections')!.indexes = {};
  const otherKey = copy();
  otherKey.get('devices')!.range = 'device';
  const noTtl = copy();
  noTtl.get('changes')!.ttl = null;
  const stream = copy();
  stream.get('applications')!.stream = true;
  const missing = copy();
  missing.delete('tokens');
  const found = [noIndex, otherKey, noTtl, stream, missing].map((m) => differences(module, m));
  assert.equal(found.map((d) => d.length), [1, 1, 1, 1, 1], found.flat().join('\n'));
  assert.match(found[0]![0]!, /^connections\.indexes/);
  assert.match(found[4]![0]!, /^tokens: created by the adapters/);
  // A resource that would not create what local.tables says (here: a stream) is caught too.
  const dir = await mkdtemp(join(os.tmpdir(), 'mooring-tf-schema-'));
  try {
    const main = await readFile(join(MODULE, 'main.tf'), 'utf8');
    assert.ok(main.includes('stream_enabled              = false'));
    await writeFile(join(dir, 'main.tf'), main.replace('stream_enabled              = false', 'stream_enabled              = true'));
    const refused = await tablesFromHcl(dir).then(() => '', (e: Error) => e.message);
    assert.match(refused, /not wired to local\.tables/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the mooring module gives the dynamodb module and the workloads one table prefix', async () => {
  const main = await parse('main.tf', await readFile(join(TERRAFORM_DIR, 'modules/mooring/main.tf'), 'utf8')) as {
    module: Record<string, Array<Record<string, unknown>>>;
  };
  assert.is(main.module.dynamodb![0]!.table_prefix, '${var.table_prefix}');
  const config = String(main.module.knative![0]!.config);
  assert.match(config, /MOORING_DYNAMODB_TABLE_PREFIX\s*=\s*module\.dynamodb\.table_prefix/);
  assert.match(config, /MOORING_DYNAMODB_REGION\s*=\s*var\.aws_region/);
  // Every key the module sets in mooring-config is a Mooring variable (cli/config.ts).
  const keys = [...config.matchAll(/\b(MOORING_[A-Z0-9_]+)\s*=/g)].map((m) => m[1]!);
  assert.ok(keys.length >= 3, config);
  for (const k of keys) assert.ok(VARIABLES.some((v) => v.name === k), `${k} is not a Mooring variable`);
});

test.run();
