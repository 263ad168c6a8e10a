// The one way Mooring opens a DynamoDB client (the registry backend, the connection directory and
// the command queue): the endpoint and region of the configuration, dummy credentials for a
// loopback endpoint (DynamoDB Local) unless given, bounded requests (3 attempts).

import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

export interface DynamoClientOptions {
  /** E.g. DynamoDB Local's `http://127.0.0.1:8000`; undefined: the region's AWS endpoint. */
  endpoint?: string;
  region?: string;
  /** Default: dummy credentials for a loopback endpoint (DynamoDB Local), else the SDK's chain. */
  credentials?: DynamoDBClientConfig['credentials'];
  /** A request without an answer this long fails (and is retried, 3 attempts in all). Default 5000. */
  requestTimeoutMs?: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function createDynamoClient(opts: DynamoClientOptions): DynamoDBClient {
  const loopback = opts.endpoint !== undefined && LOOPBACK.has(new URL(opts.endpoint).hostname);
  return new DynamoDBClient({
    region: opts.region ?? 'us-east-1',
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    credentials: opts.credentials ?? (loopback ? { accessKeyId: 'mooring', secretAccessKey: 'mooring' } : undefined),
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 2000, requestTimeout: opts.requestTimeoutMs ?? 5000, throwOnRequestTimeout: true },
  });
}
