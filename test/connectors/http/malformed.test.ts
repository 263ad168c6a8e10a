// 10,000 malformed requests on raw sockets (bad request lines and headers, bad base64 in the
// Authorization header, Content-Length that lies or does not parse, oversized bodies, bodies sent
// so slowly that the request timeout cuts them off) while a well-formed client keeps posting:
// each bad request gets its precise answer (or the connection ends), and every good one its 202.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { httpFixture, type HttpFixture } from './fixture.ts';

const TOTAL = 10_000;
const CONCURRENCY = 32;
const SLOW = 20;
const GOOD = `Basic ${Buffer.from('device1@app1:hey').toString('base64')}`;

let f: HttpFixture;
test.before(async () => { f = await httpFixture({ requestTimeoutMs: 2000 }); });
test.after(async () => { await f.close(); });

/** Each kind: the bytes sent, and the statuses it may be answered with (0 = closed without one). */
const kinds: Array<{ name: string; bytes: () => string; expect: number[]; end?: boolean }> = [
  { name: 'garbage request line', bytes: () => 'HELLO THERE\r\n\r\n', expect: [400] },
  { name: 'header without colon', bytes: () => 'POST /v1/t HTTP/1.1\r\nHost x\r\n\r\n', expect: [400] },
  { name: 'control character in a header', bytes: () => 'POST /v1/t HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n', expect: [400] },
  { name: 'bad base64', bytes: () => 'POST /v1/t HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ###\r\nContent-Length: 1\r\n\r\nx', expect: [403] },
  { name: 'base64 without colon', bytes: () => `POST /v1/t HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${Buffer.from('nocolon').toString('base64')}\r\nContent-Length: 1\r\n\r\nx`, expect: [403] },
  { name: 'base64 of invalid UTF-8', bytes: () => `POST /v1/t HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x41]).toString('base64')}\r\nContent-Length: 1\r\n\r\nx`, expect: [403] },
  { name: 'Content-Length not a number', bytes: () => `POST /v1/t HTTP/1.1\r\nHost: x\r\nAuthorization: ${GOOD}\r\nContent-Length: ten\r\n\r\nx`, expect: [400] },
  { name: 'Content-Length and Transfer-Encoding', bytes: () => `POST /v1/t HTTP/1.1\r\nHost: x\r\nAuthorization: ${GOOD}\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, expect: [400] },
  { name: 'Content-Length above the limit', bytes: () => `POST /v1/t HTTP/1.1\r\nHost: x\r\nAuthorization: ${GOOD}\r\nContent-Length: 70000\r\n\r\n`, expect: [413] },
  { name: 'body shorter than its Content-Length', bytes: () => `POST /v1/t HTTP/1.1\r\nHost: x\r\nAuthorization: ${GOOD}\r\nContent-Length: 50\r\n\r\nshort`, expect: [0, 400], end: true },
  { name: 'bad chunk size', bytes: () => `POST /v1/t HTTP/1.1\r\nHost: x\r\nAuthorization: ${GOOD}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`, expect: [400] },
  { name: 'JSON type, body not JSON', bytes: () => `POST /v1/t HTTP/1.1\r\nHost: x\r\nAuthorization: ${GOOD}\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{{{`, expect: [406] },
  { name: 'ct not a number', bytes: () => `POST /v1/t?ct=soon HTTP/1.1\r\nHost: x\r\nAuthorization: ${GOOD}\r\nContent-Length: 1\r\n\r\nx`, expect: [400] },
  { name: 'bad percent-encoding in the channel', bytes: () => `POST /v1/%zz HTTP/1.1\r\nHost: x\r\nAuthorization: ${GOOD}\r\nContent-Length: 1\r\n\r\nx`, expect: [400] },
  { name: 'unknown route', bytes: () => 'PUT /v9 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', expect: [404] },
  { name: 'header section too large', bytes: () => `POST /v1/t HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, expect: [431] },
];

/** One request on its own connection: the status answered, 0 when the connection ended without one. */
function once(bytes: string, end: boolean): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(f.port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      s.destroy();
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      resolve(m ? Number(m[1]) : 0);
    };
    s.on('connect', () => { s.write(bytes); if (end) s.end(); });
    s.on('data', (d) => {
      text += d.toString('latin1');
      // One full answer is enough (the server may keep the connection open).
      const head = text.indexOf('\r\n\r\n');
      if (head >= 0) {
        const len = /content-length: (\d+)/i.exec(text.slice(0, head));
        if (len && text.length >= head + 4 + Number(len[1])) finish();
      }
    });
    s.on('close', finish);
    s.on('error', finish);
  });
}

/** Sends the headers and then one byte a second: the request timeout ends it. */
function slow(): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(f.port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    s.on('connect', () => {
      s.write(`POST /v1/slow HTTP/1.1\r\nHost: x\r\nAuthorization: ${GOOD}\r\nContent-Length: 100\r\n\r\n`);
      timer = setInterval(() => { if (s.writable) s.write('x'); }, 1000);
    });
    s.on('data', (d) => { text += d.toString('latin1'); });
    const finish = (): void => {
      clearInterval(timer);
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      resolve(m ? Number(m[1]) : 0);
    };
    s.on('close', finish);
    s.on('error', () => undefined);
  });
}

test('10,000 malformed requests, each answered precisely, while a well-formed client still gets its 202', async () => {
  const before = f.bus.events.length;
  let running = true;
  let good = 0;
  const goodStatuses: number[] = [];
  const goodClient = (async () => {
    while (running) {
      const res = await f.post('/v1/good', { user: 'device1@app1:hey', body: `{"n":${good}}`, headers: { 'content-type': 'application/json' } });
      goodStatuses.push(res.status);
      await res.arrayBuffer();
      good++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const slowOnes = Array.from({ length: SLOW }, () => slow());
  const counts = new Map<string, Map<number, number>>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < TOTAL - SLOW; i = next++) {
      const k = kinds[i % kinds.length]!;
      const status = await once(k.bytes(), k.end === true);
      let m = counts.get(k.name);
      if (m === undefined) counts.set(k.name, (m = new Map()));
      m.set(status, (m.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const slowStatuses = await Promise.all(slowOnes);
  running = false;
  await goodClient;
  // One more well-formed request after the flood.
  const last = await f.post('/v1/good', { user: 'device1@app1:hey', body: '{"n":"last"}', headers: { 'content-type': 'application/json' } });
  assert.is(last.status, 202);

  let sent = SLOW;
  for (const k of kinds) {
    const m = counts.get(k.name)!;
    for (const [status, n] of m) {
      sent += n;
      assert.ok(k.expect.includes(status), `${k.name}: answered ${status} ${n} times, expected ${k.expect.join('/')}`);
    }
  }
  for (const s of slowStatuses) assert.ok(s === 408 || s === 0, `slow body answered ${s}`);
  assert.is(sent, TOTAL);
  assert.ok(goodStatuses.every((s) => s === 202), `good client statuses: ${[...new Set(goodStatuses)].join(',')}`);
  assert.ok(good > 0);
  // Only the good client's events reached the bus.
  assert.is(f.bus.events.length - before, good + 1);
  const summary = kinds.map((k) => `${k.name}=${[...counts.get(k.name)!].map(([s, n]) => `${s}x${n}`).join('+')}`);
  console.log(`malformed=${sent} slow=${SLOW} (${slowStatuses.filter((s) => s === 408).length} answered 408) good202=${good + 1}\n  ${summary.join('\n  ')}`);
});

test.run();
