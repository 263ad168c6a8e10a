import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { contentType } from '../../../functions/content-type/index.ts';
import { connectionEvent, deviceEvent, publishEvent } from '../../../events/constructors.ts';
import { STAGE_EXTENSION, Stage } from '../../../events/stage.ts';
import { withAttributes, type CloudEvent } from '../../../events/cloudevent.ts';
import { isMooringError, type ErrorCode } from '../../../events/errors.ts';
import { silentLogger, type FunctionContext } from '../../../functions/ports/runtime.ts';
import { memoryRegistry } from '../../helpers/memory-registry.ts';

const ctx: FunctionContext = { registry: memoryRegistry(), clock: { now: () => 0 }, logger: silentLogger, instance: 'drogue', newId: () => 'x' };
const bytes = (s: string) => new TextEncoder().encode(s);

function event(data: Uint8Array | undefined, datacontenttype?: string): CloudEvent {
  return deviceEvent({
    id: 'e', time: '2024-01-01T00:00:00Z', application: 'a', device: 'd', sender: 'd', instance: 'drogue', channel: 'c',
    data, datacontenttype, extensions: { [STAGE_EXTENSION]: Stage.normalized },
  });
}

async function run(e: CloudEvent): Promise<CloudEvent> {
  const r = await contentType.handle(e, ctx);
  assert.ok(r && !Array.isArray(r));
  return r as CloudEvent;
}

async function rejects(e: CloudEvent, code: ErrorCode): Promise<void> {
  try {
    await contentType.handle(e, ctx);
    assert.unreachable();
  } catch (err) {
    assert.ok(isMooringError(err, code), String(err));
  }
}

test('no content type, JSON payload → application/json; the stage marker is removed', async () => {
  const r = await run(event(bytes('{"a":1}')));
  assert.is(r.datacontenttype, 'application/json');
  assert.is(r.extensions[STAGE_EXTENSION], undefined);
  assert.is(r.extensions.application, 'a');
  assert.equal(r.data, bytes('{"a":1}'));
});

test('no content type, JSON scalar → application/json', async () => {
  assert.is((await run(event(bytes(' 42 ')))).datacontenttype, 'application/json');
});

test('no content type, other payload → application/octet-stream', async () => {
  assert.is((await run(event(bytes('hello')))).datacontenttype, 'application/octet-stream');
  assert.is((await run(event(new Uint8Array([0xff])))).datacontenttype, 'application/octet-stream');
});

test('an empty payload without content type → application/octet-stream', async () => {
  assert.is((await run(event(new Uint8Array()))).datacontenttype, 'application/octet-stream');
});

test('no data and no content type: left unset', async () => {
  const r = await run(event(undefined));
  assert.is(r.datacontenttype, undefined);
  assert.is(r.extensions[STAGE_EXTENSION], undefined);
});

test('an explicit content type wins', async () => {
  assert.is((await run(event(bytes('{"a":1}'), 'text/plain'))).datacontenttype, 'text/plain');
  assert.is((await run(event(bytes('{"a":1}'), 'application/vnd.x+json; charset=utf-8'))).datacontenttype, 'application/vnd.x+json; charset=utf-8');
});

test('a JSON content type with a payload that does not parse is MOORING_REJECTED', async () => {
  await rejects(event(bytes('{"a":'), 'application/json'), 'MOORING_REJECTED');
  await rejects(event(bytes('nope'), 'text/json'), 'MOORING_REJECTED');
  await rejects(event(bytes('<x/>'), 'application/ld+json'), 'MOORING_REJECTED');
  await rejects(event(new Uint8Array(), 'application/json'), 'MOORING_REJECTED');
});

test('a final event (no stage marker) that already has the right type comes back unchanged', async () => {
  const e = deviceEvent({ id: 'e', time: '2024-01-01T00:00:00Z', application: 'a', device: 'd', sender: 'd', instance: 'i', channel: 'c', data: bytes('1'), datacontenttype: 'application/json' });
  assert.is(await run(e), e);
});

test('another event type is MOORING_INVALID_EVENT', async () => {
  await rejects(publishEvent({ id: 'p', time: 't', application: 'a', sender: 's', topic: 't' }), 'MOORING_INVALID_EVENT');
});

test('a connection event passes through and leaves final: Drogue\'s connection event, marker removed', async () => {
  const plain = connectionEvent('app1', 'dev1', false, { id: 'c1', time: '2026-01-01T00:00:00Z', instance: 'drogue' });
  const staged = withAttributes(plain, { extensions: { [STAGE_EXTENSION]: Stage.normalized } });
  assert.equal(await contentType.handle(staged, ctx), plain);
});

test.run();
