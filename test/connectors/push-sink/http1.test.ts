import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Http1Pool, type Http1Error, type Http1Response } from '../../../connectors/push-sink/http1.ts';

const REQUEST = Buffer.from('POST /e HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi');

/** A raw TCP server answering each request (read up to its 2-byte body) with `answer(n)`, n = 1, 2… */
async function rawServer(answer: (n: number, socket: net.Socket) => void) {
  let n = 0;
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let buf = '';
    socket.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0 && buf.length >= end + 6; end = buf.indexOf('\r\n\r\n')) {
        buf = buf.slice(end + 6);
        answer(++n, socket);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
  return {
    origin,
    get connections() { return connections; },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function send(pool: Http1Pool, origin: { host: string; port: number }): Promise<Http1Response> {
  return new Promise((resolve, reject) => {
    pool.request(origin, REQUEST, (err: Http1Error | undefined, res?: Http1Response) => (err ? reject(err) : resolve(res!)));
  });
}

test('Content-Length body, headers lower-cased, repeated ones joined; the connection is reused', async () => {
  const s = await rawServer((_, sock) => sock.write('HTTP/1.1 200 OK\r\nCE-Id: 1\r\nX-A: a\r\nx-a: b\r\nContent-Length: 5\r\n\r\nhello'));
  const pool = new Http1Pool();
  try {
    const r = await send(pool, s.origin);
    assert.is(r.status, 200);
    assert.is(r.headers['ce-id'], '1');
    assert.is(r.headers['x-a'], 'a, b');
    assert.is(r.body.toString(), 'hello');
    await send(pool, s.origin);
    assert.is(s.connections, 1);
  } finally { pool.close(); await s.close(); }
});

test('chunked body (RFC 9112 §7.1) split across packets, with a chunk extension and a trailer', async () => {
  const s = await rawServer((_, sock) => {
    sock.write('HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nab');
    setTimeout(() => sock.write('c\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n'), 20);
  });
  const pool = new Http1Pool();
  try {
    const r = await send(pool, s.origin);
    assert.is(r.status, 202);
    assert.is(r.body.toString(), 'abcde');
    assert.is((await send(pool, s.origin)).body.toString(), 'abcde');
    assert.is(s.connections, 1);
  } finally { pool.close(); await s.close(); }
});

test('an informational 1xx response is skipped; 204 has no body', async () => {
  const s = await rawServer((_, sock) => sock.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'));
  const pool = new Http1Pool();
  try {
    const r = await send(pool, s.origin);
    assert.is(r.status, 204);
    assert.is(r.body.length, 0);
  } finally { pool.close(); await s.close(); }
});

test('no Content-Length: the body runs until the server closes; the next request opens a new connection', async () => {
  const s = await rawServer((_, sock) => { sock.end('HTTP/1.1 200 OK\r\n\r\nall of it'); });
  const pool = new Http1Pool();
  try {
    assert.is((await send(pool, s.origin)).body.toString(), 'all of it');
    assert.is((await send(pool, s.origin)).body.toString(), 'all of it');
    assert.is(s.connections, 2);
  } finally { pool.close(); await s.close(); }
});

test('Connection: close is honoured: the connection is not reused', async () => {
  const s = await rawServer((_, sock) => sock.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'));
  const pool = new Http1Pool();
  try {
    await send(pool, s.origin);
    await send(pool, s.origin);
    assert.is(s.connections, 2);
  } finally { pool.close(); await s.close(); }
});

test('a body larger than maxResponseBytes fails the request (tooLarge)', async () => {
  const s = await rawServer((_, sock) => sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${'x'.repeat(100)}`));
  const pool = new Http1Pool({ maxResponseBytes: 10 });
  try {
    const err = await send(pool, s.origin).then(() => undefined, (e: Http1Error) => e);
    assert.ok(err);
    assert.is(err.tooLarge, true);
  } finally { pool.close(); await s.close(); }
});

test('a reused connection closed before any response byte is reported stale; a first one is not', async () => {
  const s = await rawServer((n, sock) => { if (n === 1) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'); else sock.destroy(); });
  const pool = new Http1Pool();
  try {
    await send(pool, s.origin);
    const stale = await send(pool, s.origin).then(() => undefined, (e: Http1Error) => e);
    assert.is(stale?.stale, true);
    const first = await send(pool, s.origin).then(() => undefined, (e: Http1Error) => e);
    assert.is(first?.stale, false);
  } finally { pool.close(); await s.close(); }
});

test('at most maxSockets connections; further requests wait and are served in order', async () => {
  const order: number[] = [];
  const s = await rawServer((n, sock) => { order.push(n); setTimeout(() => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 5); });
  const pool = new Http1Pool({ maxSockets: 2 });
  try {
    await Promise.all(Array.from({ length: 6 }, () => send(pool, s.origin)));
    assert.is(s.connections, 2);
    assert.equal(order, [1, 2, 3, 4, 5, 6]);
  } finally { pool.close(); await s.close(); }
});

test('cancel destroys the connection of a request in flight; its callback is not called', async () => {
  const s = await rawServer(() => { /* never answers */ });
  const pool = new Http1Pool();
  try {
    let called = false;
    const req = pool.request(s.origin, REQUEST, () => { called = true; });
    await new Promise((r) => setTimeout(r, 20));
    req.cancel();
    await new Promise((r) => setTimeout(r, 20));
    assert.is(called, false);
    assert.is(pool.connections(s.origin), 0);
  } finally { pool.close(); await s.close(); }
});

test.run();
