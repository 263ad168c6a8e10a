import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { restoreExtension } from '../../events/extension-types.ts';
import { fromHttp, toBinaryHttp } from '../../functions/runtime/binding.ts';
import { publishEvent } from '../../events/constructors.ts';
import { validateEvent } from '../../events/validate.ts';

test('typed extensions come back typed from their canonical text', () => {
  assert.is(restoreExtension('qos', '1'), 1);
  assert.is(restoreExtension('retain', 'false'), false);
  assert.is(restoreExtension('knativeerrorcode', '503'), 503);
});

test('non-canonical text and untyped extensions stay strings', () => {
  assert.is(restoreExtension('qos', '01'), '01');
  assert.is(restoreExtension('qos', '1.0'), '1.0');
  assert.is(restoreExtension('qos', '99999999999'), '99999999999', 'beyond 32-bit');
  assert.is(restoreExtension('retain', 'TRUE'), 'TRUE');
  assert.is(restoreExtension('topic', '1'), '1');
});

test('a raw publish survives the HTTP binary binding unchanged and still validates', () => {
  const event = publishEvent({
    id: 'e1', time: '2026-01-01T00:00:00Z', application: 'a', sender: 'd', topic: 't',
    payload: Buffer.from('x'), qos: 1, retain: false, payloadFormat: 1, endpoint: 'mqtt',
  });
  const { headers, body } = toBinaryHttp(event);
  const back = fromHttp(headers, Buffer.from(body));
  assert.equal(back.extensions, event.extensions);
  assert.equal(validateEvent(back), { ok: true });
});

test.run();
