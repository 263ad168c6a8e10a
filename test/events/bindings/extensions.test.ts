// The one rule for typed extensions (events/bindings/extensions.ts), and that every binding
// applies it the same way: a typed extension comes back typed, one of the wrong type is refused
// with the same MOORING_INVALID_EVENT message over HTTP (binary, structured, batch) and Kafka
// (binary, structured). Nothing is silently dropped or kept as text.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { isMooringError } from '../../../events/errors.ts';
import { extensionFromJson, extensionFromText, type ExtensionTypes } from '../../../events/bindings/extensions.ts';
import { decodeHttp, decodeHttpBatch, encodeHttpBinary, httpBindings } from '../../../events/bindings/http.ts';
import { decodeKafka, kafkaBindings } from '../../../events/bindings/kafka.ts';
import { publishEvent } from '../../../events/constructors.ts';
import { validateEvent } from '../../../events/validate.ts';

const types: ExtensionTypes = { qos: 'integer', retain: 'boolean', seen: 'timestamp' };

test('typed extensions come back typed from their canonical text', () => {
  assert.is(extensionFromText('qos', '1'), 1);
  assert.is(extensionFromText('qos', '-2147483648'), -2147483648);
  assert.is(extensionFromText('retain', 'false'), false);
  assert.is(extensionFromText('knativeerrorcode', '503'), 503);
  assert.is(extensionFromText('seen', '2026-01-01T00:00:00.5+01:00', types), '2026-01-01T00:00:00.5+01:00');
  assert.is(extensionFromText('topic', '1'), '1', 'an untyped extension stays text');
});

test('text that is not the canonical form of its type is refused', () => {
  for (const [name, text] of [['qos', '01'], ['qos', '1.0'], ['qos', '99999999999'], ['qos', ''], ['retain', 'TRUE'], ['retain', '1'], ['seen', 'yesterday'], ['seen', '2026-13-45T99:00:00Z']]) {
    assert.throws(() => extensionFromText(name!, text!, types), (e: unknown) => isMooringError(e, 'MOORING_INVALID_EVENT'), `${name}=${text}`);
  }
});

test('JSON values: native type or canonical text for typed ones; string, boolean or 32-bit integer otherwise', () => {
  assert.is(extensionFromJson('qos', 1, types), 1);
  assert.is(extensionFromJson('qos', '1', types), 1);
  assert.is(extensionFromJson('retain', true, types), true);
  assert.is(extensionFromJson('count', 7, types), 7);
  for (const [name, value] of [['qos', true], ['qos', 1.5], ['retain', 0], ['seen', 5], ['count', 1.5], ['count', 2 ** 31], ['count', { a: 1 }], ['count', [1]]] as const) {
    assert.throws(() => extensionFromJson(name, value, types), (e: unknown) => isMooringError(e, 'MOORING_INVALID_EVENT'), `${name}=${JSON.stringify(value)}`);
  }
});

const base = { specversion: '1.0', id: '1', source: 's', type: 't' };
const ceHeaders = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 's', 'ce-type': 't' };
const kafkaHeaders = { ce_specversion: '1.0', ce_id: '1', ce_source: 's', ce_type: 't' };

/** The same wrong-typed attribute, as each binding would receive it. */
function wrongOnEveryBinding(name: string, text: string, json: unknown): Array<[string, () => unknown]> {
  const structured = Buffer.from(JSON.stringify({ ...base, [name]: json }));
  return [
    ['HTTP binary', () => decodeHttp({ headers: { ...ceHeaders, [`ce-${name}`]: text }, body: Buffer.alloc(0) }, types)],
    ['HTTP structured', () => decodeHttp({ headers: { 'content-type': 'application/cloudevents+json' }, body: structured }, types)],
    ['HTTP batch', () => decodeHttpBatch({ headers: { 'content-type': 'application/cloudevents-batch+json' }, body: Buffer.from(`[${structured.toString()}]`) }, types)],
    ['Kafka binary', () => decodeKafka({ value: null, headers: { ...kafkaHeaders, [`ce_${name}`]: Buffer.from(text) } }, types)],
    ['Kafka structured', () => decodeKafka({ value: structured, headers: { 'content-type': Buffer.from('application/cloudevents+json') } }, types)],
  ];
}

test('a wrong-typed extension is refused with the same MOORING_INVALID_EVENT on every binding', () => {
  let checked = 0;
  for (const [name, text, json, message] of [
    ['qos', 'one', 'one', 'extension qos must be an integer, got "one"'],
    ['retain', 'yes', 'yes', 'extension retain must be a boolean, got "yes"'],
    ['seen', 'yesterday', 'yesterday', 'extension seen must be an RFC 3339 timestamp, got "yesterday"'],
  ] as const) {
    for (const [binding, decode] of wrongOnEveryBinding(name, text, json)) {
      try {
        decode();
        assert.unreachable(`${binding} accepted ${name}=${text}`);
      } catch (e) {
        assert.ok(isMooringError(e, 'MOORING_INVALID_EVENT'), `${binding}: ${String(e)}`);
        assert.is((e as Error).message, message, binding);
        checked++;
      }
    }
  }
  assert.is(checked, 15, '3 attributes x 5 bindings');
});

test('a wrong-typed attribute refused on decode is refused on encode too, by every binding', () => {
  const e: CloudEvent = { specversion: '1.0', id: '1', source: 's', type: 't', extensions: { qos: 'one' } };
  const h = httpBindings({ extensionTypes: types });
  const k = kafkaBindings({ extensionTypes: types });
  const encoders: Array<[string, () => unknown]> = [
    ['HTTP binary', () => h.binary.encode(e)], ['HTTP structured', () => h.structured.encode(e)], ['HTTP batch', () => h.batch.encode([e])],
    ['Kafka binary', () => k.binary.encode(e)], ['Kafka structured', () => k.structured.encode(e)],
  ];
  for (const [binding, encode] of encoders) {
    assert.throws(encode, (err: unknown) => isMooringError(err, 'MOORING_INVALID_EVENT') && (err as Error).message === 'extension qos must be an integer, got "one"', binding);
  }
});

test('typed extensions of each kind survive every binding unchanged', () => {
  const e: CloudEvent = { specversion: '1.0', id: '1', source: 's', type: 't', extensions: { qos: 2, retain: true, seen: '2026-01-01T00:00:00Z', note: '7' } };
  const h = httpBindings({ extensionTypes: types });
  const k = kafkaBindings({ extensionTypes: types });
  for (const [binding, decode] of [
    ['HTTP binary', () => h.binary.decode(h.binary.encode(e))], ['HTTP structured', () => h.structured.decode(h.structured.encode(e))],
    ['HTTP batch', () => h.batch.decode(h.batch.encode([e]))[0]], ['Kafka binary', () => k.binary.decode(k.binary.encode(e))],
    ['Kafka structured', () => k.structured.decode(k.structured.encode(e))],
  ] as const) {
    assert.equal((decode() as CloudEvent).extensions, e.extensions, binding);
  }
});

test('a raw publish survives the HTTP binary binding unchanged and still validates', () => {
  const event = publishEvent({
    id: 'e1', time: '2026-01-01T00:00:00Z', application: 'a', sender: 'd', topic: 't',
    payload: Buffer.from('x'), qos: 1, retain: false, payloadFormat: 1, endpoint: 'mqtt',
  });
  const back = decodeHttp(encodeHttpBinary(event));
  assert.equal(back.extensions, event.extensions);
  assert.equal(validateEvent(back), { ok: true });
});

test.run();
