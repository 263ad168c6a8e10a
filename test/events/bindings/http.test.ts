import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { isMooringError } from '../../../events/errors.ts';
import {
  binaryBody, binaryHeaderLines, decodeHttp, decodeHttpBatch, encodeHttpBatch, encodeHttpBinary as toBinaryHttp, encodeHttpStructured, type HttpHeaders,
} from '../../../events/bindings/http.ts';
import { percentDecode, percentEncode } from '../../../events/bindings/percent.ts';

const fromHttp = (headers: HttpHeaders, body: Buffer): CloudEvent => decodeHttp({ headers, body });

const full: CloudEvent = {
  specversion: '1.0', id: 'id-1', source: 'drogue://app/dev%201', type: 'io.drogue.event.v1',
  subject: 'température 100%', time: '2024-05-01T10:00:00Z', dataschema: 'urn:x',
  datacontenttype: 'application/json', data: Buffer.from('{"a":1}'),
  extensions: { application: 'app', device: 'dev "1"', qos: 1, retain: false },
};

function invalid(headers: Record<string, string>, body = Buffer.alloc(0)): string {
  try {
    fromHttp(headers, body);
  } catch (err) {
    assert.ok(isMooringError(err, 'MOORING_INVALID_EVENT'), String(err));
    return (err as Error).message;
  }
  assert.unreachable('expected MOORING_INVALID_EVENT');
  return '';
}

test('binary mode round trip; Mooring\'s typed extensions come back typed, others as strings', () => {
  const { headers, body } = toBinaryHttp(full);
  assert.is(headers['content-type'], 'application/json');
  assert.is(headers['ce-datacontenttype'], undefined);
  const back = fromHttp(headers, body);
  assert.equal({ ...back, data: Buffer.from(back.data!).toString() }, {
    ...full, data: '{"a":1}', extensions: { application: 'app', device: 'dev "1"', qos: 1, retain: false },
  });
  const other = fromHttp({ ...headers, 'ce-count': '7' }, body);
  assert.is(other.extensions.count, '7', 'an extension Mooring does not type stays a string');
});

test('percent-encoding per §3.1.3.2: space, quote, percent and non-printable/non-ASCII bytes', () => {
  assert.is(percentEncode('plain-ASCII_value/ok'), 'plain-ASCII_value/ok');
  assert.is(percentEncode('a b"c%d'), 'a%20b%22c%25d');
  assert.is(percentEncode('€'), '%E2%82%AC');
  assert.is(percentEncode('tab\there'), 'tab%09here');
  assert.is(percentDecode('a%20b%22c%25d'), 'a b"c%d');
  assert.is(percentDecode('%e2%82%ac'), '€');
  assert.is(percentDecode('100%'), '100%', 'a lone % is kept');
  const { headers } = toBinaryHttp(full);
  assert.is(headers['ce-subject'], 'temp%C3%A9rature%20100%25');
  assert.is(headers['ce-source'], 'drogue://app/dev%25201', 'an already-encoded source is encoded again (and decoded back)');
});

test('unencoded UTF-8 header bytes (latin1 in node) are decoded; invalid UTF-8 refused', () => {
  const raw = Buffer.from('é', 'utf8').toString('latin1');
  const e = fromHttp({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 's', 'ce-type': 't', 'ce-subject': raw }, Buffer.alloc(0));
  assert.is(e.subject, 'é');
  assert.match(invalid({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 's', 'ce-type': 't', 'ce-subject': '%FF' }), 'not valid UTF-8');
});

test('binary mode: empty body is no data; no content-type is no datacontenttype', () => {
  const e = fromHttp({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 's', 'ce-type': 't', host: 'x' }, Buffer.alloc(0));
  assert.is(e.data, undefined);
  assert.is(e.datacontenttype, undefined);
  assert.equal(e.extensions, {});
  assert.equal(toBinaryHttp(e).body.length, 0);
});

test('binary mode: missing or invalid required attributes and extension names are refused', () => {
  const base = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 's', 'ce-type': 't' };
  assert.match(invalid({ 'content-type': 'text/plain' }), 'specversion is missing');
  assert.match(invalid({ ...base, 'ce-specversion': '0.3' }), 'unsupported specversion');
  for (const name of ['id', 'source', 'type'] as const) {
    const h: Record<string, string> = { ...base };
    delete h[`ce-${name}`];
    assert.match(invalid(h), `required attribute ${name}`);
    assert.match(invalid({ ...base, [`ce-${name}`]: '' }), `required attribute ${name}`);
  }
  assert.match(invalid({ ...base, 'ce-time': 'yesterday' }), 'time');
  assert.match(invalid({ ...base, 'ce-my_ext': 'x' }), 'invalid extension attribute name');
  assert.match(invalid({ ...base, 'ce-waytoolongextensionname1': 'x' }), 'invalid extension attribute name');
  assert.match(invalid({ ...base, 'ce-data': 'x' }), 'invalid extension attribute name');
});

test('structured mode: data as JSON, data_base64, string data with a non-JSON type', () => {
  const ct = { 'content-type': 'application/cloudevents+json; charset=utf-8' };
  const base = { specversion: '1.0', id: '1', source: 's', type: 't' };
  const j = fromHttp(ct, Buffer.from(JSON.stringify({ ...base, data: { a: 1 }, application: 'app', qos: 1, flag: true, nothing: null })));
  assert.is(j.datacontenttype, 'application/json');
  assert.is(Buffer.from(j.data!).toString(), '{"a":1}');
  assert.equal(j.extensions, { application: 'app', qos: 1, flag: true });
  const b = fromHttp(ct, Buffer.from(JSON.stringify({ ...base, datacontenttype: 'application/octet-stream', data_base64: Buffer.from([0, 1, 2]).toString('base64') })));
  assert.equal([...b.data!], [0, 1, 2]);
  const t = fromHttp(ct, Buffer.from(JSON.stringify({ ...base, datacontenttype: 'text/plain', data: 'hi "x"' })));
  assert.is(Buffer.from(t.data!).toString(), 'hi "x"');
  const s = fromHttp(ct, Buffer.from(JSON.stringify({ ...base, data: 'hi' })));
  assert.is(Buffer.from(s.data!).toString(), '"hi"', 'without datacontenttype, data is JSON');
  const none = fromHttp(ct, Buffer.from(JSON.stringify(base)));
  assert.is(none.data, undefined);
});

test('structured mode: invalid events are refused', () => {
  const ct = { 'content-type': 'application/cloudevents+json' };
  const base = { specversion: '1.0', id: '1', source: 's', type: 't' };
  assert.match(invalid(ct, Buffer.from('{nope')), 'not valid JSON');
  assert.match(invalid(ct, Buffer.from('[]')), 'JSON object');
  assert.match(invalid(ct, Buffer.from(JSON.stringify({ ...base, id: 5 }))), 'attribute id must be a string');
  assert.match(invalid(ct, Buffer.from(JSON.stringify({ ...base, specversion: '1.1' }))), 'unsupported specversion');
  assert.match(invalid(ct, Buffer.from(JSON.stringify({ ...base, 'Bad-Name': 1 }))), 'invalid extension attribute name');
  assert.match(invalid(ct, Buffer.from(JSON.stringify({ ...base, ext: { a: 1 } }))), 'must be a string, a boolean or a 32-bit integer');
  assert.match(invalid(ct, Buffer.from(JSON.stringify({ ...base, subject: 3 }))), 'subject must be a string');
  assert.match(invalid(ct, Buffer.from(JSON.stringify({ ...base, data: 1, data_base64: 'AA==' }))), 'mutually exclusive');
  assert.match(invalid({ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from('[]')), 'a batch of CloudEvents where one event was expected');
});

test('binary mode: a typed extension of the wrong type is refused, not kept as text', () => {
  const base = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 's', 'ce-type': 't' };
  assert.is(invalid({ ...base, 'ce-qos': 'one' }), 'extension qos must be an integer, got "one"');
  assert.is(invalid({ ...base, 'ce-qos': '01' }), 'extension qos must be an integer, got "01"');
  assert.is(invalid({ ...base, 'ce-retain': 'TRUE' }), 'extension retain must be a boolean, got "TRUE"');
  assert.throws(() => toBinaryHttp({ ...full, extensions: { qos: 'one' } }), (e: unknown) => isMooringError(e, 'MOORING_INVALID_EVENT'));
});

test('structured mode: encoded with its media type and read back', () => {
  const m = encodeHttpStructured(full);
  assert.is(m.headers['content-type'], 'application/cloudevents+json; charset=utf-8');
  const back = decodeHttp(m);
  assert.equal({ ...back, data: Buffer.from(back.data!).toString() }, { ...full, data: '{"a":1}' });
});

test('batched mode (§3.3): a JSON array both ways; an empty batch is no events; not an array is refused', () => {
  const second: CloudEvent = { specversion: '1.0', id: 'id-2', source: 's', type: 't', datacontenttype: 'application/octet-stream', data: Buffer.from([0, 255]), extensions: {} };
  const m = encodeHttpBatch([full, second]);
  assert.is(m.headers['content-type'], 'application/cloudevents-batch+json; charset=utf-8');
  const back = decodeHttpBatch(m);
  assert.is(back.length, 2);
  assert.equal(back.map((e) => e.id), ['id-1', 'id-2']);
  assert.equal([...back[1]!.data!], [0, 255]);
  assert.equal(back[0]!.extensions, full.extensions);
  assert.equal(decodeHttpBatch(encodeHttpBatch([])), []);
  const ct = { 'content-type': 'application/cloudevents-batch+json' };
  assert.throws(() => decodeHttpBatch({ headers: ct, body: Buffer.from('{}') }), (e: unknown) => isMooringError(e, 'MOORING_INVALID_EVENT') && /JSON array/.test((e as Error).message));
  assert.throws(() => decodeHttpBatch({ headers: {}, body: Buffer.from('[]') }), (e: unknown) => isMooringError(e, 'MOORING_INVALID_EVENT'));
  assert.throws(() => decodeHttpBatch({ headers: ct, body: Buffer.from('[{"specversion":"1.0"}]') }), (e: unknown) => isMooringError(e, 'MOORING_INVALID_EVENT'));
});

test('binaryHeaderLines writes exactly the headers of toBinaryHttp; binaryBody is its body', () => {
  for (const e of [full, { ...full, subject: undefined, time: undefined, dataschema: undefined, datacontenttype: undefined, data: undefined }]) {
    const { headers, body } = toBinaryHttp(e);
    const lines = binaryHeaderLines(e).split('\r\n').filter((l: string) => l !== '');
    assert.equal(Object.fromEntries(lines.map((l: string) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)])), headers);
    assert.ok(binaryBody(e).equals(body));
  }
});

test.run();
