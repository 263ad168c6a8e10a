import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalize } from '../../../functions/normalize/index.ts';
import { connectionEvent, publishEvent } from '../../../events/constructors.ts';
import { validateEvent } from '../../../events/validate.ts';
import { withAttributes, type CloudEvent } from '../../../events/cloudevent.ts';
import { STAGE_EXTENSION, Stage } from '../../../events/stage.ts';
import { isMooringError, type ErrorCode } from '../../../events/errors.ts';
import { silentLogger, type FunctionContext } from '../../../functions/ports/runtime.ts';
import type { RegistryReader } from '../../../functions/ports/registry.ts';
import { app, device, memoryRegistry } from '../../helpers/memory-registry.ts';

const NOW = Date.parse('2024-06-01T12:00:00Z');
const registry = memoryRegistry([
  app('my-app'),
  app('uid-app'),
  withUid(device('uid-app', 'sensor-1'), 'sensor-uid'),
  app('plain-app', { mqtt: { dialect: { type: 'plainTopic' } } }),
  device('plain-app', 'prefixed', { mqtt: { dialect: { type: 'plainTopic', devicePrefix: true } } }),
  device('plain-app', 'p1'),
  app('broken-app', { mqtt: { dialect: { type: 'nope' } as never } }),
]);

function withUid<T extends { metadata: { uid?: string } }>(doc: T, uid: string): T {
  doc.metadata.uid = uid;
  return doc;
}

function ctx(reg: RegistryReader = registry): FunctionContext {
  let n = 0;
  return { registry: reg, clock: { now: () => NOW }, logger: silentLogger, instance: 'drogue', newId: () => `id-${++n}` };
}

const payload = new TextEncoder().encode('{"temp":42}');

function publish(over: Partial<Parameters<typeof publishEvent>[0]> = {}): CloudEvent {
  return publishEvent({ id: 'raw-1', time: '2024-01-01T00:00:00Z', application: 'my-app', sender: 'gw_1', topic: 'temp', payload, qos: 1, retain: false, endpoint: 'mqtt', dialect: 'drogue/v1', ...over });
}

async function run(e: CloudEvent, c = ctx()): Promise<CloudEvent> {
  const r = await normalize.handle(e, c);
  assert.ok(r && !Array.isArray(r));
  return r as CloudEvent;
}

async function rejects(e: CloudEvent, code: ErrorCode, c = ctx()): Promise<void> {
  try {
    await normalize.handle(e, c);
    assert.unreachable('expected an error');
  } catch (err) {
    assert.ok(isMooringError(err, code), String(err));
  }
}

test('a publish as the device itself becomes Drogue\'s device event', async () => {
  const e = await run(publish());
  assert.equal(e, {
    specversion: '1.0', id: 'id-1', type: 'io.drogue.event.v1', source: 'drogue://my-app/gw%5F1', subject: 'temp',
    time: '2024-06-01T12:00:00.000Z', data: payload,
    extensions: { application: 'my-app', device: 'gw_1', sender: 'gw_1', instance: 'drogue', partitionkey: 'my%2Dapp/gw%5F1', [STAGE_EXTENSION]: 'normalized' },
  });
  assert.ok(validateEvent(e).ok);
});

test('a gateway publish <channel>/<device>: device = target, sender = gateway, partition key app/sender', async () => {
  const e = await run(publish({ topic: 'temp/sensor-1' }));
  assert.is(e.source, 'drogue://my-app/sensor%2D1');
  assert.is(e.subject, 'temp');
  assert.is(e.extensions.device, 'sensor-1');
  assert.is(e.extensions.sender, 'gw_1');
  assert.is(e.extensions.partitionkey, 'my%2Dapp/gw%5F1');
});

test('uids: the connector\'s application and sender uids carry; deviceuid is the sender\'s, or the target\'s from the registry', async () => {
  const uids = { applicationUid: 'app-uid', senderUid: 'gw-uid' };
  const own = await run(publish({ application: 'uid-app', uids }));
  assert.equal([own.extensions.applicationuid, own.extensions.deviceuid, own.extensions.senderuid], ['app-uid', 'gw-uid', 'gw-uid']);
  const forChild = await run(publish({ application: 'uid-app', topic: 'temp/sensor-1', uids }));
  assert.equal([forChild.extensions.applicationuid, forChild.extensions.deviceuid, forChild.extensions.senderuid], ['app-uid', 'sensor-uid', 'gw-uid']);
  const without = await run(publish());
  for (const k of ['applicationuid', 'deviceuid', 'senderuid']) assert.is(without.extensions[k], undefined, k);
});

test('datacontenttype and dataschema pass through; instance and id from the context', async () => {
  const c = ctx();
  c.instance = 'mooring-1';
  const e = await run(publish({ contentType: 'text/plain', dataschema: 'urn:schema:1' }), c);
  assert.is(e.datacontenttype, 'text/plain');
  assert.is(e.dataschema, 'urn:schema:1');
  assert.is(e.extensions.instance, 'mooring-1');
  assert.is(e.id, 'id-1');
});

test('publish metadata (topic, qos, retain, dialect, endpoint, user properties) stays behind; other extensions carry', async () => {
  const raw = withAttributes(publish({ userProperties: [['a', 'b']], payloadFormat: 1 }), { extensions: { lorawanport: 5 } });
  const e = await run(raw);
  for (const k of ['topic', 'qos', 'retain', 'dialect', 'endpoint', 'userproperties', 'payloadformat']) assert.is(e.extensions[k], undefined, k);
  assert.is(e.extensions.lorawanport, 5);
});

test('a device extension resolved by the connector wins over the topic', async () => {
  const e = await run(publish({ topic: 'temp', device: 'sensor-9' }));
  assert.is(e.extensions.device, 'sensor-9');
  assert.is(e.extensions.sender, 'gw_1');
});

test('the dialect extension decides: plainTopic keeps the whole topic as channel', async () => {
  const e = await run(publish({ topic: 'a/b/c', dialect: 'plainTopic' }));
  assert.is(e.subject, 'a/b/c');
  assert.is(e.extensions.device, 'gw_1');
});

test('the dialect extension decides: plainTopic;devicePrefix', async () => {
  const e = await run(publish({ topic: 'foo/bar/baz//bam/bum', dialect: 'plainTopic;devicePrefix' }));
  assert.is(e.subject, 'bar/baz//bam/bum');
  assert.is(e.extensions.device, 'foo');
  const self = await run(publish({ topic: '/x', dialect: 'plainTopic;devicePrefix' }));
  assert.is(self.extensions.device, 'gw_1');
  assert.is(self.subject, 'x');
});

test('without a dialect extension: the device dialect, then the application, then drogue/v1', async () => {
  const fromDevice = await run(publish({ application: 'plain-app', sender: 'prefixed', topic: 'dev/ch', dialect: undefined }));
  assert.is(fromDevice.extensions.device, 'dev');
  assert.is(fromDevice.subject, 'ch');
  const fromApp = await run(publish({ application: 'plain-app', sender: 'p1', topic: 'dev/ch', dialect: undefined }));
  assert.is(fromApp.subject, 'dev/ch');
  assert.is(fromApp.extensions.device, 'p1');
  const byDefault = await run(publish({ topic: 'ch/dev', dialect: undefined }));
  assert.is(byDefault.subject, 'ch');
  assert.is(byDefault.extensions.device, 'dev');
});

test('a registry dialect that does not parse is MOORING_INVALID_CONFIG', async () => {
  await rejects(publish({ application: 'broken-app', dialect: undefined }), 'MOORING_INVALID_CONFIG');
});

test('a topic that does not parse is MOORING_INVALID_TOPIC', async () => {
  await rejects(publish({ topic: '' }), 'MOORING_INVALID_TOPIC');
  await rejects(publish({ topic: 'a/b/c' }), 'MOORING_INVALID_TOPIC');
  await rejects(publish({ topic: 'single', dialect: 'plainTopic;devicePrefix' }), 'MOORING_INVALID_TOPIC');
});

test('the wrong event type, missing extensions or an unknown dialect value are MOORING_INVALID_EVENT', async () => {
  await rejects(withAttributes(publish(), { type: 'io.drogue.event.v1' }), 'MOORING_INVALID_EVENT');
  await rejects(withAttributes(publish(), { extensions: { application: undefined } }), 'MOORING_INVALID_EVENT');
  await rejects(withAttributes(publish(), { extensions: { sender: undefined } }), 'MOORING_INVALID_EVENT');
  await rejects(withAttributes(publish(), { extensions: { topic: undefined } }), 'MOORING_INVALID_EVENT');
  await rejects(publish({ dialect: 'mqtt/v9' }), 'MOORING_INVALID_EVENT');
});

test('an event without data stays without data', async () => {
  const e = await run(publish({ payload: undefined }));
  assert.is(e.data, undefined);
});

test('a raw connection event passes through, only its stage marker advanced (it keeps its place among the publishes)', async () => {
  const raw = withAttributes(connectionEvent('app1', 'dev1', true, { id: 'c1', time: '2026-01-01T00:00:00Z', instance: 'drogue' }), {
    extensions: { [STAGE_EXTENSION]: Stage.raw },
  });
  const out = await normalize.handle(raw, ctx()) as CloudEvent;
  assert.equal({ ...out, extensions: { ...out.extensions, [STAGE_EXTENSION]: undefined } }, { ...raw, extensions: { ...raw.extensions, [STAGE_EXTENSION]: undefined } });
  assert.is(out.extensions[STAGE_EXTENSION], Stage.normalized);
});

test.run();
