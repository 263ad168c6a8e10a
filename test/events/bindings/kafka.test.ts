// The CloudEvents Kafka protocol binding (cloudevents/spec kafka-protocol-binding.md), binary
// content mode (§3.2) and structured mode (§3.3).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { decodeKafka as decodeRecord, encodeKafkaBinary as encodeBinary, encodeKafkaStructured, kafka } from '../../../events/bindings/kafka.ts';
import { isMooringError } from '../../../events/errors.ts';

const event: CloudEvent = {
  specversion: '1.0',
  id: 'e-1',
  source: 'drogue://app1/dev%2F1',
  type: 'io.drogue.event.v1',
  subject: 'temp',
  time: '2024-01-02T03:04:05.678Z',
  datacontenttype: 'application/json',
  dataschema: 'urn:schema',
  data: new TextEncoder().encode('{"t":21.5}'),
  extensions: { application: 'app1', device: 'dev/1', partitionkey: 'app1/dev%2F1', qos: 1, retain: false, instance: 'drogue' },
};

/** kafkajs hands a consumer Buffers for key, value and every header. */
function asReceived(r: ReturnType<typeof encodeBinary>) {
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k] = Buffer.from(v, 'utf8');
  return { key: r.key === null ? null : Buffer.from(r.key), value: r.value, headers };
}

test('every context attribute is a ce_ header, datacontenttype is content-type', () => {
  const r = encodeBinary(event);
  assert.equal(r.headers, {
    ce_specversion: '1.0', ce_id: 'e-1', ce_source: 'drogue://app1/dev%2F1', ce_type: 'io.drogue.event.v1',
    ce_subject: 'temp', ce_time: '2024-01-02T03:04:05.678Z', ce_dataschema: 'urn:schema',
    'content-type': 'application/json',
    ce_application: 'app1', ce_device: 'dev/1', ce_partitionkey: 'app1/dev%2F1', ce_qos: '1', ce_retain: 'false',
    ce_instance: 'drogue',
  });
});

test('the record key is the partitionkey and the value is the data bytes, not copied', () => {
  const r = encodeBinary(event);
  assert.is(r.key, 'app1/dev%2F1');
  assert.is(r.value?.toString('utf8'), '{"t":21.5}');
  assert.is(r.value?.buffer, event.data?.buffer);
});

test('an event without data or partitionkey has a null value and a null key', () => {
  const r = encodeBinary({ specversion: '1.0', id: '1', source: 's', type: 't', extensions: {} });
  assert.is(r.key, null);
  assert.is(r.value, null);
  assert.equal(r.headers, { ce_specversion: '1.0', ce_id: '1', ce_source: 's', ce_type: 't' });
});

test('decoding Buffer headers gives the event back; Mooring integer/boolean extensions keep their type', () => {
  const back = decodeRecord(asReceived(encodeBinary(event)));
  assert.equal({ ...back, data: Buffer.from(back.data!).toString() }, { ...event, data: '{"t":21.5}' });
  assert.is(back.extensions.qos, 1);
  assert.is(back.extensions.retain, false);
});

test('other extensions come back as strings; a typed one whose text is not of its type is refused', () => {
  const e: CloudEvent = { ...event, extensions: { count: 3, flag: true } };
  const back = decodeRecord(asReceived(encodeBinary(e)));
  assert.equal(back.extensions, { count: '3', flag: 'true' });
  const typed = decodeRecord(asReceived(encodeBinary(e)), { count: 'integer', flag: 'boolean' });
  assert.equal(typed.extensions, { count: 3, flag: true });
  const wrong = { value: null, headers: { ce_specversion: '1.0', ce_id: '1', ce_source: 's', ce_type: 't', ce_qos: 'x' } };
  assert.throws(() => decodeRecord(wrong), (err: unknown) => isMooringError(err, 'MOORING_INVALID_EVENT') && (err as Error).message === 'extension qos must be an integer, got "x"');
});

test('the record key becomes partitionkey when no ce_partitionkey header is present', () => {
  const back = decodeRecord({
    key: Buffer.from('k1'), value: null,
    headers: { ce_specversion: Buffer.from('1.0'), ce_id: Buffer.from('1'), ce_source: Buffer.from('s'), ce_type: Buffer.from('t') },
  });
  assert.is(back.extensions.partitionkey, 'k1');
  assert.is(back.data, undefined);
});

test('header names are matched case-insensitively; string headers and arrays are accepted', () => {
  const back = decodeRecord({
    value: 'hi',
    headers: { CE_SPECVERSION: '1.0', ce_Id: ['7', 'ignored'], ce_source: 's', ce_type: 't', 'Content-Type': 'text/plain' },
  });
  assert.is(back.id, '7');
  assert.is(back.datacontenttype, 'text/plain');
  assert.is(Buffer.from(back.data!).toString(), 'hi');
});

test('invalid extension names in ce_ headers are refused, as over HTTP', () => {
  for (const name of ['ce_Bad-Name', 'ce_data', 'ce_waytoolongextensionname1']) {
    assert.throws(() => decodeRecord({ value: null, headers: { ce_specversion: '1.0', ce_id: '1', ce_source: 's', ce_type: 't', [name]: 'x' } }),
      (e: unknown) => isMooringError(e, 'MOORING_INVALID_EVENT') && /invalid extension attribute name/.test((e as Error).message), name);
  }
});

test('a record without specversion, id, source or type is MOORING_INVALID_EVENT', () => {
  for (const headers of [
    {},
    { ce_specversion: '0.3', ce_id: '1', ce_source: 's', ce_type: 't' },
    { ce_specversion: '1.0', ce_source: 's', ce_type: 't' },
    { ce_specversion: '1.0', ce_id: '1', ce_type: 't' },
    { ce_specversion: '1.0', ce_id: '1', ce_source: 's' },
  ]) {
    try {
      decodeRecord({ value: null, headers });
      assert.unreachable(JSON.stringify(headers));
    } catch (e) {
      assert.ok(isMooringError(e, 'MOORING_INVALID_EVENT'), String(e));
    }
  }
});

test('structured mode: the JSON event format in the value, data or data_base64', () => {
  const back = decodeRecord({
    key: 'pk',
    value: Buffer.from(JSON.stringify({ specversion: '1.0', id: '1', source: 's', type: 't', subject: 'x', qos: '1', n: 2, data: { a: 1 } })),
    headers: { 'content-type': Buffer.from('application/cloudevents+json; charset=utf-8') },
  });
  assert.is(back.subject, 'x');
  assert.equal(back.extensions, { qos: 1, n: 2, partitionkey: 'pk' });
  assert.is(Buffer.from(back.data!).toString(), '{"a":1}');
  const b64 = decodeRecord({
    value: JSON.stringify({ specversion: '1.0', id: '1', source: 's', type: 't', data_base64: Buffer.from([0, 255]).toString('base64') }),
    headers: { 'content-type': 'application/cloudevents+json' },
  });
  assert.equal([...b64.data!], [0, 255]);
});

test('structured mode encodes the JSON event format with its content type and the partitionkey as key', () => {
  const r = encodeKafkaStructured(event);
  assert.is(r.key, 'app1/dev%2F1');
  assert.equal(r.headers, { 'content-type': 'application/cloudevents+json; charset=utf-8' });
  const back = decodeRecord(r);
  assert.equal({ ...back, data: Buffer.from(back.data!).toString() }, { ...event, data: '{"t":21.5}' });
});

test('the Binding shape: encode gives headers + body + key, decode takes it (or a kafkajs record) back', () => {
  for (const binding of [kafka.binary, kafka.structured]) {
    const m = binding.encode(event);
    assert.ok(Buffer.isBuffer(m.body));
    assert.is(m.key, 'app1/dev%2F1');
    const back = binding.decode(m);
    assert.equal({ ...back, data: Buffer.from(back.data!).toString() }, { ...event, data: '{"t":21.5}' });
  }
  assert.is(kafka.binary.decode(asReceived(encodeBinary(event))).id, 'e-1');
});

test.run();
