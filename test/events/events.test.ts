import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  commandEvent, connectionEvent, deviceEvent, drogueEncode, droguePartitionKey, drogueSource, publishEvent,
} from '../../events/constructors.ts';
import { assertValidEvent, validateEvent, validateStructured } from '../../events/validate.ts';
import { fromStructured, toStructured } from '../../events/bindings/structured.ts';
import { withAttributes, type CloudEvent } from '../../events/cloudevent.ts';
import { isMooringError } from '../../events/errors.ts';

const T = '2024-06-01T12:00:00.000Z';
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

function assertValid(e: CloudEvent): void {
  const r = validateEvent(e);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('; '));
}
function assertInvalid(e: CloudEvent, hint?: string): void {
  const r = validateEvent(e);
  assert.not.ok(r.ok, `expected invalid: ${hint ?? ''}`);
}

test('Drogue percent-encoding: everything but ASCII letters and digits, upper-case hex', () => {
  assert.is(drogueEncode('app1'), 'app1');
  assert.is(drogueEncode('app_id'), 'app%5Fid');
  assert.is(drogueEncode('simple-thing'), 'simple%2Dthing');
  assert.is(drogueEncode('a/b c.d~e'), 'a%2Fb%20c%2Ed%7Ee');
  assert.is(drogueEncode('dev@home'), 'dev%40home');
  assert.is(drogueEncode('ü'), '%C3%BC');
  assert.is(drogueEncode('%'), '%25');
});

test('drogueSource encodes only the device (as Drogue Cloud since 2022); droguePartitionKey encodes both', () => {
  assert.is(drogueSource('app_id', 'device_id'), 'drogue://app_id/device%5Fid');
  assert.is(droguePartitionKey('app_id', 'device_id'), 'app%5Fid/device%5Fid');
  assert.is(drogueSource('my-app', 'a/b'), 'drogue://my-app/a%2Fb');
  assert.is(droguePartitionKey('my-app', 'a/b'), 'my%2Dapp/a%2Fb');
});

test('uids: applicationuid, deviceuid, senderuid when the registry has them, none otherwise', () => {
  const uids = { applicationUid: 'a-uid', deviceUid: 'd-uid', senderUid: 'g-uid' };
  const e = deviceEvent({ id: 'i', time: T, application: 'app', device: 'd', sender: 'g', instance: 'drogue', channel: 'c', uids });
  assert.is(e.extensions.applicationuid, 'a-uid');
  assert.is(e.extensions.deviceuid, 'd-uid');
  assert.is(e.extensions.senderuid, 'g-uid');
  assertValid(e);
  const p = publishEvent({ id: 'p', time: T, application: 'app', sender: 'g', topic: 't', uids });
  assert.is(p.extensions.applicationuid, 'a-uid');
  assert.is(p.extensions.senderuid, 'g-uid');
  assert.is(p.extensions.deviceuid, undefined, 'the raw publish does not know its target yet');
  const c = connectionEvent('app', 'd', true, { id: 'c', time: T, instance: 'drogue', uids: { applicationUid: 'a-uid', deviceUid: 'd-uid' } });
  assert.equal([c.extensions.applicationuid, c.extensions.deviceuid, c.extensions.senderuid], ['a-uid', 'd-uid', 'd-uid']);
  const none = deviceEvent({ id: 'i', time: T, application: 'app', device: 'd', sender: 'g', instance: 'drogue', channel: 'c' });
  for (const k of ['applicationuid', 'deviceuid', 'senderuid']) assert.is(none.extensions[k], undefined, k);
});

test('deviceEvent carries Drogue\'s exact attributes', () => {
  const e = deviceEvent({
    id: 'id-1', time: T, application: 'my-app', device: 'sensor-1', sender: 'gw-1', instance: 'drogue',
    channel: 'temp', data: bytes('{"t":1}'), datacontenttype: 'application/json', dataschema: 'urn:x',
  });
  assert.equal(e, {
    specversion: '1.0', id: 'id-1', type: 'io.drogue.event.v1', source: 'drogue://my-app/sensor%2D1',
    subject: 'temp', time: T, datacontenttype: 'application/json', dataschema: 'urn:x', data: bytes('{"t":1}'),
    extensions: { application: 'my-app', device: 'sensor-1', sender: 'gw-1', instance: 'drogue', partitionkey: 'my%2Dapp/gw%2D1' },
  });
  assertValid(e);
});

test('publishEvent: source and partition key are the sender\'s; optional fields only when given', () => {
  const e = publishEvent({ id: 'p', time: T, application: 'app', sender: 'dev', topic: 'temp', payload: bytes('x'), qos: 1, retain: false, dialect: 'drogue/v1', endpoint: 'mqtt', userProperties: [['a', '1'], ['a', '2']], payloadFormat: 1 });
  assert.is(e.source, 'drogue://app/dev');
  assert.equal(e.extensions, { application: 'app', sender: 'dev', topic: 'temp', partitionkey: 'app/dev', qos: 1, retain: false, dialect: 'drogue/v1', endpoint: 'mqtt', userproperties: '[["a","1"],["a","2"]]', payloadformat: 1 });
  assert.is(e.datacontenttype, undefined);
  assertValid(e);
  const minimal = publishEvent({ id: 'p', time: T, application: 'app', sender: 'dev', topic: 't' });
  assert.is(minimal.data, undefined);
  assertValid(minimal);
});

test('connectionEvent: subject connection, JSON {connected}', () => {
  const on = connectionEvent('app', 'dev', true, { id: 'c', time: T, instance: 'drogue' });
  assert.is(on.subject, 'connection');
  assert.is(on.datacontenttype, 'application/json');
  assert.equal(JSON.parse(text(on.data)), { connected: true });
  assert.equal(JSON.parse(text(connectionEvent('app', 'dev', false, { id: 'c', time: T, instance: 'i' }).data)), { connected: false });
  assert.equal(on.extensions, { application: 'app', device: 'dev', sender: 'dev', instance: 'drogue', partitionkey: 'app/dev' });
  assertValid(on);
});

test('commandEvent: command name as extension and subject, partition key of the target connection', () => {
  const c = commandEvent({ id: 'k', time: T, application: 'app', device: 'sensor', command: 'set-temp', payload: bytes('{"t":2}'), contentType: 'application/json', target: 'gw' });
  assert.is(c.type, 'io.mooring.command.v1');
  assert.is(c.subject, 'set-temp');
  assert.equal(c.extensions, { application: 'app', device: 'sensor', command: 'set-temp', partitionkey: 'app/gw', target: 'gw' });
  assertValid(c);
  const own = commandEvent({ id: 'k', time: T, application: 'app', device: 'sensor', command: 'x' });
  assert.is(own.extensions.partitionkey, 'app/sensor');
  assert.is(own.extensions.target, undefined);
  assertValid(own);
});

test('schema: a device event without its Drogue extensions is invalid', () => {
  const e = deviceEvent({ id: 'i', time: T, application: 'a', device: 'd', sender: 's', instance: 'drogue', channel: 'c' });
  for (const ext of ['application', 'device', 'sender', 'instance', 'partitionkey']) {
    assertInvalid(withAttributes(e, { extensions: { [ext]: undefined } }), ext);
  }
  assertInvalid(withAttributes(e, { subject: '' }), 'empty subject');
  assertInvalid(withAttributes(e, { source: 'drogue://a/d_e' }), 'unencoded device in source');
  assertInvalid(withAttributes(e, { source: 'drogue://a%2Db/d' }), 'encoded application in source');
  assertInvalid(withAttributes(e, { extensions: { partitionkey: 'a' } }), 'partition key without /');
  assertInvalid(withAttributes(e, { time: 'yesterday' }), 'time');
});

test('schema: extension names must match [a-z0-9]{1,20} and values be scalars', () => {
  const e = publishEvent({ id: 'p', time: T, application: 'a', sender: 's', topic: 't' });
  assertInvalid(withAttributes(e, { extensions: { Bad: 'x' } }), 'upper case');
  assertInvalid(withAttributes(e, { extensions: { 'with-dash': 'x' } }), 'dash');
  assertInvalid(withAttributes(e, { extensions: { abcdefghijklmnopqrstu: 'x' } }), '21 chars');
  assertValid(withAttributes(e, { extensions: { abcdefghijklmnopqrst: 'x' } }));
  const r = validateStructured({ ...toStructured(e), custom: { nested: true } });
  assert.not.ok(r.ok);
});

test('schema: publish qos, retain, dialect and payloadformat types', () => {
  const e = publishEvent({ id: 'p', time: T, application: 'a', sender: 's', topic: 't' });
  assertInvalid(withAttributes(e, { extensions: { qos: 3 } }));
  assertInvalid(withAttributes(e, { extensions: { retain: 'yes' } }));
  assertInvalid(withAttributes(e, { extensions: { dialect: 'mqtt' } }));
  assertInvalid(withAttributes(e, { extensions: { payloadformat: 2 } }));
  assertInvalid(withAttributes(e, { extensions: { topic: undefined } }));
  assertValid(withAttributes(e, { extensions: { dialect: 'plainTopic;devicePrefix' } }));
});

test('schema: connection data must be {connected: bool}', () => {
  const on = connectionEvent('a', 'd', true, { id: 'c', time: T, instance: 'i' });
  assertInvalid(withAttributes(on, { data: bytes('{"connected":"yes"}') }));
  assertInvalid(withAttributes(on, { data: bytes('{}') }));
  assertInvalid(withAttributes(on, { subject: 'other' }));
});

test('assertValidEvent throws MOORING_INVALID_EVENT', () => {
  const e = publishEvent({ id: 'p', time: T, application: 'a', sender: 's', topic: 't' });
  try {
    assertValidEvent(withAttributes(e, { extensions: { qos: 7 } }));
    assert.unreachable();
  } catch (err) {
    assert.ok(isMooringError(err, 'MOORING_INVALID_EVENT'));
  }
});

test('structured mode: JSON data as `data`, other data as `data_base64`', () => {
  const j = deviceEvent({ id: 'i', time: T, application: 'a', device: 'd', sender: 'd', instance: 'x', channel: 'c', data: bytes('{"t":1}'), datacontenttype: 'application/json' });
  const sj = toStructured(j);
  assert.equal(sj.data, { t: 1 });
  assert.is(sj.data_base64, undefined);
  assert.is(sj.application, 'a');
  const b = withAttributes(j, { data: new Uint8Array([0, 255]), datacontenttype: 'application/octet-stream' });
  const sb = toStructured(b);
  assert.is(sb.data, undefined);
  assert.is(sb.data_base64, 'AP8=');
  const broken = withAttributes(j, { data: bytes('{nope') });
  assert.is(toStructured(broken).data_base64, Buffer.from('{nope').toString('base64'));
});

test('structured mode round-trips', () => {
  const events = [
    deviceEvent({ id: 'i', time: T, application: 'a', device: 'd', sender: 'g', instance: 'x', channel: 'c', data: bytes('[1,2]'), datacontenttype: 'application/json' }),
    publishEvent({ id: 'p', time: T, application: 'a', sender: 's', topic: 't', payload: new Uint8Array([1, 2, 3]), qos: 0, retain: true }),
    connectionEvent('a', 'd', false, { id: 'c', time: T, instance: 'i' }),
  ];
  for (const e of events) {
    const back = fromStructured(JSON.parse(JSON.stringify(toStructured(e))));
    assert.equal({ ...back, data: text(back.data) }, { ...e, data: text(e.data) });
  }
});

test('fromStructured: text data under a non-JSON content type, JSON data without one', () => {
  const t = fromStructured({ specversion: '1.0', id: '1', source: 's', type: 't', datacontenttype: 'text/plain', data: 'hi' });
  assert.is(text(t.data), 'hi');
  const j = fromStructured({ specversion: '1.0', id: '1', source: 's', type: 't', data: { a: 1 } });
  assert.is(text(j.data), '{"a":1}');
  assert.is(j.datacontenttype, 'application/json');
});

test('fromStructured refuses malformed envelopes with MOORING_INVALID_EVENT', () => {
  const bad: unknown[] = [
    null, [], 'x',
    { specversion: '0.3', id: '1', source: 's', type: 't' },
    { specversion: '1.0', source: 's', type: 't' },
    { specversion: '1.0', id: '1', source: 's', type: 't', BadName: 'x' },
    { specversion: '1.0', id: '1', source: 's', type: 't', ext: { a: 1 } },
    { specversion: '1.0', id: '1', source: 's', type: 't', ext: 1.5 },
    { specversion: '1.0', id: '1', source: 's', type: 't', data: 1, data_base64: 'AA==' },
    { specversion: '1.0', id: '1', source: 's', type: 't', data_base64: '!!' },
    { specversion: '1.0', id: 1, source: 's', type: 't' },
  ];
  for (const b of bad) {
    try {
      fromStructured(b);
      assert.unreachable(JSON.stringify(b));
    } catch (err) {
      assert.ok(isMooringError(err, 'MOORING_INVALID_EVENT'), `${JSON.stringify(b)}: ${String(err)}`);
    }
  }
});

test('validation of an unknown type checks the CloudEvent envelope only', () => {
  assert.ok(validateStructured({ specversion: '1.0', id: '1', source: 's', type: 'com.example' }).ok);
  assert.not.ok(validateStructured({ specversion: '1.0', id: '', source: 's', type: 'com.example' }).ok);
});

test.run();
