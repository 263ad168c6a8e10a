// Issue 14: what the HTTP fuzzer (test/fuzz/http-fuzz.ts) found, each fixed and kept here.
// - API: a path parameter that is not valid percent-encoding, a body whose Content-Encoding does
//   not decode, and a JSON body nested a few thousand levels deep (a stack overflow where the
//   registry copies it) were 500 MOORING_INTERNAL (logged as internal failures): now 400 JSON
//   (nesting: serde_json's limit, 128, as Drogue).
// - Device endpoint: `Expect: <not 100-continue>` got node's 417 and an HTTP/1.1 request without
//   Host node's 400, both with an empty body: now JSON errors. The API's unparsable requests
//   (node's empty 400) are JSON too.
// - Pipelining: a malformed request behind one answered at once got its 400 written after the
//   first answer's close-delimited end (a second answer inside the first one's body); a pipelined
//   `Expect: 100-continue` got node's 100 Continue in the middle of its own answer.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { startTarget, type Target } from '../fuzz/harness.ts';
import { exchange, parseResponses } from '../fuzz/http-fuzz.ts';

let target: Target;
let device: number;
let api: number;

test.before(async () => {
  target = await startTarget({ devices: 1, logger: silentLogger });
  device = target.mooring.httpAddresses.http!.port;
  api = target.mooring.api!.port;
});
test.after(async () => { await target?.close(); });

/** Sends `raw`, reads `answers` answers (or until the server closes), returns them parsed, with their JSON bodies. */
async function send(port: number, raw: string, answers = 1): Promise<Array<{ status: number; json: Record<string, unknown> | undefined; headers: Record<string, string> }>> {
  const x = await exchange(port, Buffer.from(raw, 'latin1'), 1, answers, [], 20_000);
  const parsed = parseResponses(x.data, []);
  assert.is(parsed.error, undefined, `${parsed.error ?? ''}: ${x.data.toString('latin1')}`);
  return parsed.responses.map((r) => ({ status: r.status, headers: r.headers, json: r.body.length > 0 ? JSON.parse(r.body.toString('utf8')) as Record<string, unknown> : undefined }));
}

const basic = (): string => `authorization: Basic ${Buffer.from(`${target.token.username}:${target.token.token}`).toString('base64')}\r\n`;

test('API: a path parameter with bad percent-encoding is 400 MOORING_INVALID_REQUEST, not 500', async () => {
  const [r] = await send(api, `DELETE /api/registry/v1alpha1/apps/fz2% HTTP/1.1\r\nhost: x\r\n${basic()}connection: close\r\n\r\n`);
  assert.is(r!.status, 400);
  assert.is(r!.json?.code, 'MOORING_INVALID_REQUEST');
});

test('API: a gzip Content-Encoding whose body is not gzip is 400, not 500', async () => {
  const body = '{"metadata":{"name":"fz1"}}';
  const [r] = await send(api, `POST /api/registry/v1alpha1/apps HTTP/1.1\r\nhost: x\r\n${basic()}content-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  assert.is(r!.status, 400);
  assert.is(r!.json?.code, 'MOORING_INVALID_REQUEST');
});

test('API: a body nested deeper than 128 levels is 400 (it overflowed the stack: 500); 128 levels are taken', async () => {
  const nested = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  // `depth` counts the body's own object: spec holds depth - 1 levels.
  for (const [depth, status] of [[3000, 400], [129, 400], [128, 201]] as const) {
    const body = `{"metadata":{"name":"deep${depth}"},"spec":${nested(depth - 1)}}`;
    const [r] = await send(api, `POST /api/registry/v1alpha1/apps HTTP/1.1\r\nhost: x\r\n${basic()}content-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    assert.is(r!.status, status, `depth ${depth}: ${JSON.stringify(r!.json)}`);
    if (status === 400) assert.is(r!.json?.code, 'MOORING_INVALID_REQUEST');
  }
});

test('device endpoint: an unknown Expect is 417 and a missing Host 400, with JSON bodies', async () => {
  const [e] = await send(device, 'POST /v1/temp HTTP/1.1\r\nhost: x\r\nexpect: bogus\r\ncontent-length: 2\r\n\r\n{}');
  assert.is(e!.status, 417);
  assert.is(e!.json?.error, 'MOORING_INVALID_REQUEST');
  const [h] = await send(device, 'GET / HTTP/1.1\r\nconnection: close\r\n\r\n');
  assert.is(h!.status, 400);
  assert.is(h!.json?.error, 'MOORING_INVALID_REQUEST');
});

test('API: a request that does not parse gets a JSON 400', async () => {
  const [r] = await send(api, 'GET /api HTTP/1.1\r\nbad header: x\r\n\r\n');
  assert.is(r!.status, 400);
  assert.is(r!.json?.error, 'MOORING_INVALID_REQUEST');
});

test('pipelining: nothing is written after an answer that ends with the connection', async () => {
  // HTTP/2.0 without a length: node answers close-delimited; the bytes after it do not parse.
  const rs = await send(api, 'POST /nowhere HTTP/2.0\r\nhost: x\r\n\r\n{"metadata":{"name":"d2"', 2);
  assert.is(rs.length, 1, JSON.stringify(rs));
  assert.is(rs[0]!.status, 404);
});

test('pipelining: a 100 Continue never lands inside an answer', async () => {
  const list = `GET /api/registry/v1alpha1/apps HTTP/1.1\r\nhost: x\r\n${basic()}`;
  const rs = await send(api, `${list}\r\n${list}expect: 100-continue\r\n\r\n`, 2);
  assert.equal(rs.map((r) => r.status), [200, 200]);
});

test.run();
