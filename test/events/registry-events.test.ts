// Drogue's registry change events and the application-stream notification, attribute for attribute.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registryChangeEvent, registryNotificationEvent } from '../../events/constructors.ts';
import { assertValidEvent } from '../../events/validate.ts';

const base = { id: 'id-1', time: '2026-01-01T00:00:00Z', instance: 'drogue' };

test('application change: source drogue:/{instance}/{app}, subject = path, JSON {revision, uid}', () => {
  const e = registryChangeEvent({ ...base, kind: 'application', application: 'app1', path: '.spec.foo', revision: 3, uid: 'u-app' });
  assert.is(e.type, 'io.drogue.registry.change.application');
  assert.is(e.source, 'drogue:/drogue/app1');
  assert.is(e.subject, '.spec.foo');
  assert.is(e.datacontenttype, 'application/json');
  assert.equal(JSON.parse(new TextDecoder().decode(e.data)), { revision: 3, uid: 'u-app' });
  assert.equal(e.extensions, { instance: 'drogue', application: 'app1', partitionkey: 'drogue/app1' });
  assertValidEvent(e);
});

test('device change: device extension and segment, partition key with the device', () => {
  const e = registryChangeEvent({ ...base, kind: 'device', application: 'app1', device: 'dev 1', path: '.', revision: 0, uid: 'u-dev' });
  assert.is(e.type, 'io.drogue.registry.change.device');
  assert.is(e.source, 'drogue:/drogue/app1/dev%201');
  assert.is(e.subject, '.');
  assert.equal(e.extensions, { instance: 'drogue', application: 'app1', device: 'dev 1', partitionkey: 'drogue/app1/dev 1' });
  assertValidEvent(e);
});

test('application stream: io.drogue.registry.v1, subject devices, device = sender, uids, empty octet-stream body', () => {
  const e = registryNotificationEvent({ ...base, application: 'app1', device: 'dev1', deviceUid: 'u-dev' });
  assert.is(e.type, 'io.drogue.registry.v1');
  assert.is(e.subject, 'devices');
  assert.is(e.source, 'drogue://app1/dev1');
  assert.is(e.datacontenttype, 'application/octet-stream');
  assert.is(e.data?.length, 0);
  assert.equal(e.extensions, {
    application: 'app1', device: 'dev1', sender: 'dev1', instance: 'drogue', partitionkey: 'app1/dev1', deviceuid: 'u-dev', senderuid: 'u-dev',
  });
  assertValidEvent(e);
});

test.run();
