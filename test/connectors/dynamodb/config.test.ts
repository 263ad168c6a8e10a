// The DynamoDB variables of cli/config.ts and the backend options they give.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configFromEnv } from '../../../cli/config.ts';
import { dynamoOptionsFromConfig } from '../../../connectors/dynamodb/index.ts';
import { isMooringError } from '../../../events/errors.ts';

test('defaults: no endpoint (AWS), us-east-1, prefix mooring-', () => {
  const c = configFromEnv({});
  assert.is(c.dynamodbEndpoint, undefined);
  assert.is(c.dynamodbRegion, 'us-east-1');
  assert.is(c.dynamodbTablePrefix, 'mooring-');
  assert.equal(dynamoOptionsFromConfig(c), { region: 'us-east-1', tablePrefix: 'mooring-' });
});

test('set values reach the backend options', () => {
  const c = configFromEnv({
    MOORING_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', MOORING_DYNAMODB_REGION: 'eu-central-1', MOORING_DYNAMODB_TABLE_PREFIX: 'prod_',
  });
  assert.equal(dynamoOptionsFromConfig(c, { instanceId: 'i1' }), {
    endpoint: 'http://127.0.0.1:8000', region: 'eu-central-1', tablePrefix: 'prod_', instanceId: 'i1',
  });
});

test('bad values are MOORING_INVALID_CONFIG naming the variable', () => {
  const bad: Array<[string, string]> = [
    ['MOORING_DYNAMODB_ENDPOINT', '127.0.0.1:8000'],
    ['MOORING_DYNAMODB_ENDPOINT', 'ftp://host'],
    ['MOORING_DYNAMODB_TABLE_PREFIX', 'has space'],
    ['MOORING_DYNAMODB_TABLE_PREFIX', 'x'.repeat(201)],
  ];
  for (const [name, value] of bad) {
    try {
      configFromEnv({ [name]: value });
      assert.unreachable(`${name}=${value} accepted`);
    } catch (err) {
      assert.ok(isMooringError(err, 'MOORING_INVALID_CONFIG'), String(err));
      assert.match((err as Error).message, name);
    }
  }
});

test.run();
