import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isJsonContentType, isJsonPayload, resolveContentType } from '../../../functions/content-type/sniff.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

test('an explicit content type wins', () => {
  assert.equal(resolveContentType('text/plain', bytes('{"a":1}')), { ok: true, contentType: 'text/plain' });
  assert.equal(resolveContentType('application/cbor', new Uint8Array([0xa1, 0x01])), { ok: true, contentType: 'application/cbor' });
});

test('a JSON content type with a payload that parses is kept as given', () => {
  for (const ct of ['application/json', 'application/json; charset=utf-8', 'text/json', 'application/vnd.foo+json', 'APPLICATION/JSON', 'application/ld+json;profile=x']) {
    assert.equal(resolveContentType(ct, bytes('{"temp":42}')), { ok: true, contentType: ct }, ct);
  }
});

test('a JSON content type whose payload does not parse is rejected', () => {
  for (const ct of ['application/json', 'text/json', 'application/vnd.foo+json', 'Application/Json', 'application/foo+JSON; charset=utf-8']) {
    const r = resolveContentType(ct, bytes('{"temp":'));
    assert.is(r.ok, false, ct);
  }
  assert.is(resolveContentType('application/json', new Uint8Array([0xff, 0xfe])).ok, false);
});

test('a JSON content type with an empty payload is rejected', () => {
  assert.is(resolveContentType('application/json', new Uint8Array()).ok, false);
});

test('no content type: a JSON object or array is application/json', () => {
  assert.equal(resolveContentType(undefined, bytes('{"temp":42}')), { ok: true, contentType: 'application/json' });
  assert.equal(resolveContentType(undefined, bytes('[1,2]')), { ok: true, contentType: 'application/json' });
});

test('no content type: JSON scalars are application/json (serde_json parses any value)', () => {
  for (const s of ['42', '-1.5e3', '"x"', 'true', 'false', 'null']) {
    assert.equal(resolveContentType(undefined, bytes(s)), { ok: true, contentType: 'application/json' }, s);
  }
});

test('no content type: whitespace around JSON is allowed', () => {
  assert.equal(resolveContentType(undefined, bytes(' \n\t{"a": 1}\r\n ')), { ok: true, contentType: 'application/json' });
});

test('no content type: anything else is application/octet-stream', () => {
  for (const s of ['hello', '{"a":', 'tru', '42 43', '01', '+1', 'NaN', "{'a':1}", '\u00a0{}']) {
    assert.equal(resolveContentType(undefined, bytes(s)), { ok: true, contentType: 'application/octet-stream' }, s);
  }
  assert.equal(resolveContentType(undefined, new Uint8Array([0x00, 0x01, 0x02])), { ok: true, contentType: 'application/octet-stream' });
  assert.equal(resolveContentType(undefined, new Uint8Array([0x22, 0xff, 0x22])), { ok: true, contentType: 'application/octet-stream' });
});

test('no content type: an empty or whitespace-only payload is application/octet-stream', () => {
  assert.equal(resolveContentType(undefined, new Uint8Array()), { ok: true, contentType: 'application/octet-stream' });
  assert.equal(resolveContentType(undefined, bytes('  ')), { ok: true, contentType: 'application/octet-stream' });
});

test('an empty content type string counts as none', () => {
  assert.equal(resolveContentType('', bytes('1')), { ok: true, contentType: 'application/json' });
});

test('a UTF-8 BOM is not JSON (RFC 8259 §8.1, serde_json)', () => {
  assert.is(isJsonPayload(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])), false);
});

test('isJsonContentType follows Drogue (application/json*, text/json*, *+json)', () => {
  assert.ok(isJsonContentType('application/jsonseq'));
  assert.ok(isJsonContentType('text/json'));
  assert.ok(isJsonContentType('application/geo+json'));
  assert.not.ok(isJsonContentType('application/xml'));
  assert.not.ok(isJsonContentType('text/plain'));
  assert.not.ok(isJsonContentType('application/x-patch+xml'));
  assert.not.ok(isJsonContentType('application/octet-stream; note=+json'));
});

test.run();
