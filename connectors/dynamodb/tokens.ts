// Users and access tokens in DynamoDB: the TokenStore port (functions/ports/tokens.ts) for
// instances that share DynamoDB, so a token created through one instance's API works on every
// other. Tokens are kept as the store is given them (hex SHA3-512, never the token). One table:
//
//   <prefix>tokens  pk `user#<id>`        sk `user`             username
//                   pk `username#<name>`  sk `username`         id        (one user per name)
//                   pk `user#<id>`        sk `token#<prefix>`   hashedToken, created, description?
//
// A username is claimed with a conditional put in the same transaction as the user's item, so
// two users can never hold one name; reads are consistent, so a token works at once everywhere.

import {
  DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, TransactWriteItemsCommand,
  type DynamoDBClient, type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { MooringError } from '../../events/errors.ts';
import type { AccessTokenRecord, TokenStore, UserRecord } from '../../functions/ports/tokens.ts';
import { fromAwsError } from './errors.ts';
import { createTables, hashRange, s, str, type Item } from './tables.ts';

const USER = 'user';
const CLAIM = 'username';
const TOKEN = 'token#';
/** Renames racing each other on one user are redone this many times, then MOORING_UNAVAILABLE. */
const RACE_RETRIES = 8;

const userKey = (id: string): Item => ({ pk: s(`user#${id}`), sk: s(USER) });
const claimKey = (username: string): Item => ({ pk: s(`username#${username}`), sk: s(CLAIM) });
const tokenKey = (id: string, prefix: string): Item => ({ pk: s(`user#${id}`), sk: s(`${TOKEN}${prefix}`) });

const isAws = (err: unknown, name: string): boolean => (err as { name?: string } | undefined)?.name === name;

/** The tokens table of a prefix (beside the registry's `<prefix>applications` …). */
export const tokensTableName = (prefix: string): string => `${prefix}tokens`;

export class DynamoTokenStore implements TokenStore {
  constructor(readonly client: DynamoDBClient, readonly table: string) {}

  /** A store whose table exists (created when missing, waited for until ACTIVE). */
  static async open(client: DynamoDBClient, tablePrefix: string): Promise<DynamoTokenStore> {
    const table = tokensTableName(tablePrefix);
    await createTables(client, [hashRange(table, 'pk', 'sk')], []);
    return new DynamoTokenStore(client, table);
  }

  async #get(key: Item, doing: string): Promise<Item | undefined> {
    try {
      return (await this.client.send(new GetItemCommand({ TableName: this.table, Key: key, ConsistentRead: true }))).Item;
    } catch (err) {
      throw fromAwsError(err, doing);
    }
  }

  async putUser(user: UserRecord): Promise<void> {
    for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
      const cur = await this.#get(userKey(user.id), 'reading a user');
      const old = cur && str(cur, 'username');
      if (old === user.username) return;
      const writes: TransactWriteItem[] = [
        {
          Put: {
            TableName: this.table, Item: { ...userKey(user.id), username: s(user.username) },
            // Unchanged since it was read: a concurrent rename is redone on the fresh item.
            ...(old === undefined
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : { ConditionExpression: 'username = :old', ExpressionAttributeValues: { ':old': s(old) } }),
          },
        },
        {
          Put: {
            TableName: this.table, Item: { ...claimKey(user.username), id: s(user.id) },
            ConditionExpression: 'attribute_not_exists(pk) OR id = :id', ExpressionAttributeValues: { ':id': s(user.id) },
          },
        },
      ];
      if (old !== undefined) {
        writes.push({
          Delete: {
            TableName: this.table, Key: claimKey(old),
            ConditionExpression: 'attribute_not_exists(pk) OR id = :id', ExpressionAttributeValues: { ':id': s(user.id) },
          },
        });
      }
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: writes }));
        return;
      } catch (err) {
        if (!isAws(err, 'TransactionCanceledException')) throw fromAwsError(err, 'writing a user');
        const reasons = (err as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
        if (reasons[1]?.Code === 'ConditionalCheckFailed') {
          throw new MooringError('MOORING_CONFLICT', `Username ${user.username} belongs to another user`);
        }
        if (!reasons.some((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict')) {
          throw fromAwsError(err, 'writing a user');
        }
      }
    }
    throw new MooringError('MOORING_UNAVAILABLE', `user ${user.id} kept changing while it was written`);
  }

  async userById(id: string): Promise<UserRecord | undefined> {
    const item = await this.#get(userKey(id), 'reading a user');
    return item && { id, username: str(item, 'username') };
  }

  async userByUsername(username: string): Promise<UserRecord | undefined> {
    const claim = await this.#get(claimKey(username), 'reading a username');
    if (claim === undefined) return undefined;
    const user = await this.userById(str(claim, 'id'));
    // A claim left behind by a rename that lost its race names a user called otherwise now.
    return user?.username === username ? user : undefined;
  }

  async addToken(userId: string, token: AccessTokenRecord): Promise<void> {
    const item: Item = {
      ...tokenKey(userId, token.prefix), prefix: s(token.prefix), hashedToken: s(token.hashedToken), created: s(token.created),
      ...(token.description !== undefined ? { description: s(token.description) } : {}),
    };
    try {
      await this.client.send(new PutItemCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
    } catch (err) {
      if (isAws(err, 'ConditionalCheckFailedException')) throw new MooringError('MOORING_CONFLICT', 'Conflict');
      throw fromAwsError(err, 'writing an access token');
    }
  }

  async listTokens(userId: string): Promise<AccessTokenRecord[]> {
    const out: AccessTokenRecord[] = [];
    let start: Item | undefined;
    try {
      do {
        const page = await this.client.send(new QueryCommand({
          TableName: this.table, ConsistentRead: true, ExclusiveStartKey: start,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :token)',
          ExpressionAttributeValues: { ':pk': s(`user#${userId}`), ':token': s(TOKEN) },
        }));
        for (const item of page.Items ?? []) {
          const description = item.description?.S;
          out.push({
            prefix: str(item, 'prefix'), hashedToken: str(item, 'hashedToken'), created: str(item, 'created'),
            ...(description !== undefined ? { description } : {}),
          });
        }
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    } catch (err) {
      throw fromAwsError(err, 'listing access tokens');
    }
    // Oldest first; tokens of one instant in prefix order.
    return out.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.prefix < b.prefix ? -1 : 1));
  }

  async deleteToken(userId: string, prefix: string): Promise<void> {
    try {
      await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: tokenKey(userId, prefix) }));
    } catch (err) {
      throw fromAwsError(err, 'deleting an access token');
    }
  }
}
