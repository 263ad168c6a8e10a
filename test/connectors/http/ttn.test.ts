// TTN webhooks (reference apps §2) with complete uplinks in TTN's published formats
// (test/fixtures/ttn/): the ttn-operator's setup (a `ttn-gateway` device, TTN devices listing it),
// `as` = the TTN device, channel = port, the LoRaWAN extensions, each `spec.ttn.payload` mode,
// `spec.lorawan.ports[..].data_schema`, the uplink time as the event time, and the error cases.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import type { Application, Device } from '../../../functions/ports/registry.ts';
import { app, device } from '../../helpers/memory-registry.ts';
import { curl, finalEvent, httpFixture, type HttpFixture } from './fixture.ts';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/ttn/${name}`, import.meta.url));
const V2 = fixture('v2-uplink.json');
const V3 = fixture('v3-uplink.json');
const GW = 'ttn-gateway@mooring-lora:gw-secret';

function docs(ttn: Record<string, unknown> | undefined): Array<Application | Device> {
  return [
    app('mooring-lora'),
    device('mooring-lora', 'ttn-gateway', { authentication: { credentials: [{ pass: 'gw-secret' }] } }),
    device('mooring-lora', 'lora-dev-1', {
      gatewaySelector: { matchNames: ['ttn-gateway'] },
      lorawan: { ports: { 2: { data_schema: 'urn:lora:cayenne' } } },
      ...(ttn ? { ttn } : {}),
    } as Device['spec']),
    device('mooring-lora', 'lora-dev-2', {}),
  ];
}

let f: HttpFixture;
test.before(async () => { f = await httpFixture({}, docs(undefined)); });
test.after(async () => { await f.close(); });

const final = (): Promise<CloudEvent> => finalEvent(f.registry, f.bus.events[f.bus.events.length - 1]!);

const ttn = (path: string, body: Buffer | string, user = GW, query = '') =>
  f.post(path + query, { user, body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': 'application/json' } });

test('v2 uplink (curl): as = dev_id, channel = port, lorawanport, hwaddr, lorawanretry; the whole body by default', async () => {
  f.registry.set(docs(undefined));
  const r = await curl(['-u', GW, '-H', 'Content-Type: application/json', '--data-binary', `@${new URL('../../fixtures/ttn/v2-uplink.json', import.meta.url).pathname}`, `${f.url}/ttn/v2`]);
  assert.is(r.status, 202, r.body);
  const e = await final();
  assert.is(e.type, 'io.drogue.event.v1');
  assert.is(e.subject, '2');
  assert.is(e.source, 'drogue://mooring-lora/lora%2Ddev%2D1');
  assert.is(e.extensions.device, 'lora-dev-1');
  assert.is(e.extensions.sender, 'ttn-gateway');
  assert.is(e.extensions.lorawanport, '2');
  assert.is(e.extensions.hwaddr, '70B3D57ED0041A2C');
  assert.is(e.extensions.lorawanretry, 'true');
  assert.is(e.dataschema, 'urn:lora:cayenne');
  assert.is(e.time, '2026-03-14T09:26:53.589Z', 'the uplink time');
  assert.is(e.datacontenttype, 'application/json');
  assert.equal(JSON.parse(Buffer.from(e.data!).toString()), JSON.parse(V2.toString()));
  for (const path of ['/ttn', '/ttn/']) assert.is((await ttn(path, V2)).status, 202, path);
});

test('v3 uplink: as = end_device_ids.device_id, channel = f_port, hwaddr = dev_addr, no lorawanretry', async () => {
  f.registry.set(docs(undefined));
  assert.is((await ttn('/ttn/v3', V3)).status, 202);
  const e = await final();
  assert.is(e.subject, '2');
  assert.is(e.extensions.device, 'lora-dev-1');
  assert.is(e.extensions.hwaddr, '260B1D3F');
  assert.is(e.extensions.lorawanport, '2');
  assert.is(e.extensions.lorawanretry, undefined);
  assert.is(e.time, '2026-03-14T09:26:53.702Z');
  assert.equal(JSON.parse(Buffer.from(e.data!).toString()), JSON.parse(V3.toString()));
});

test('spec.ttn.payload raw: the frame bytes, application/octet-stream', async () => {
  f.registry.set(docs({ payload: 'raw' }));
  for (const [path, body] of [['/ttn/v2', V2], ['/ttn/v3', V3]] as const) {
    assert.is((await ttn(path, body)).status, 202);
    const e = await final();
    assert.is(e.datacontenttype, 'application/octet-stream');
    assert.is(Buffer.from(e.data!).toString('base64'), 'AWcA5QJoUA==');
  }
});

test('spec.ttn.payload fields: payload_fields / decoded_payload as JSON (null when absent)', async () => {
  f.registry.set(docs({ payload: 'fields' }));
  for (const [path, body] of [['/ttn/v2', V2], ['/ttn/v3', V3]] as const) {
    assert.is((await ttn(path, body)).status, 202);
    const e = await final();
    assert.is(e.datacontenttype, 'application/json');
    assert.equal(JSON.parse(Buffer.from(e.data!).toString()), { temperature_1: 22.9, relative_humidity_2: 40 });
  }
  const bare = JSON.parse(V3.toString());
  delete bare.uplink_message.decoded_payload;
  assert.is((await ttn('/ttn/v3', JSON.stringify(bare))).status, 202);
  assert.is(Buffer.from((await final()).data!).toString(), 'null');
});

test('?data_schema= wins over the port mapping', async () => {
  f.registry.set(docs(undefined));
  assert.is((await ttn('/ttn/v3', V3, GW, '?data_schema=urn:given')).status, 202);
  assert.is((await final()).dataschema, 'urn:given');
});

test('errors: malformed bodies 400 MOORING_INVALID_REQUEST, join_accept 400, downlink_ack 400, not a gateway 403', async () => {
  f.registry.set(docs(undefined));
  const before = f.bus.events.length;
  const v2 = JSON.parse(V2.toString());
  const v3 = JSON.parse(V3.toString());
  const bad: Array<[string, string]> = [
    ['/ttn/v2', '{not json'],
    ['/ttn/v2', JSON.stringify({ ...v2, payload_raw: 'not base64!' })],
    ['/ttn/v2', JSON.stringify({ ...v2, port: 'two' })],
    ['/ttn/v2', JSON.stringify({ ...v2, metadata: { ...v2.metadata, time: 'yesterday' } })],
    ['/ttn/v2', JSON.stringify((({ dev_id: _d, ...rest }) => rest)(v2))],
    ['/ttn/v3', JSON.stringify({ ...v3, end_device_ids: { ...v3.end_device_ids, dev_addr: undefined } })],
    ['/ttn/v3', JSON.stringify({ ...v3, uplink_message: { ...v3.uplink_message, frm_payload: '***' } })],
    ['/ttn/v3', JSON.stringify({ ...v3, uplink_message: { ...v3.uplink_message, settings: {} } })],
    ['/ttn/v3', fixture('v3-join-accept.json').toString()],
    ['/ttn/v3', fixture('v3-downlink-ack.json').toString()],
    ['/ttn/v3', '[]'],
  ];
  for (const [path, body] of bad) {
    const res = await ttn(path, body);
    assert.is(res.status, 400, body.slice(0, 80));
    const err = await res.json() as { error: string; message: string };
    assert.is(err.error, 'MOORING_INVALID_REQUEST');
  }
  const join = await (await ttn('/ttn/v3', fixture('v3-join-accept.json'))).json() as { message: string };
  assert.match(join.message, /expected 'Uplink'/);
  // lora-dev-2 does not list ttn-gateway: not allowed.
  const other = await ttn('/ttn/v3', JSON.stringify({ ...v3, end_device_ids: { ...v3.end_device_ids, device_id: 'lora-dev-2' } }));
  assert.is(other.status, 403);
  assert.is((await ttn('/ttn/v3', V3, 'ttn-gateway@mooring-lora:wrong')).status, 403);
  assert.is(f.bus.events.length, before);
  console.log(`ttn error cases checked: ${bad.length + 3}`);
});

test.run();
