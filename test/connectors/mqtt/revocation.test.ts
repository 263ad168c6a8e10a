// A registry change that disables or deletes a connected device (or its application) ends that
// device's session: v5 DISCONNECT 0x98 (Administrative action), no Will, a disconnected event.
// Other sessions stay. Drogue Cloud keeps such sessions connected until they reconnect.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IDisconnectPacket } from 'mqtt-packet';
import { mqttDocs, mqttFixture } from '../../helpers/mqtt-fixtures.ts';
import { EventTypes } from '../../../events/types.ts';
import type { Application, Device } from '../../../functions/ports/registry.ts';

const will = { topic: 'status', payload: Buffer.from('gone'), qos: 0 as const, retain: false };

function edit(docs: Array<Application | Device>, name: string, change: (d: Application | Device) => Application | Device | undefined): Array<Application | Device> {
  return docs.flatMap((d) => {
    if (d.metadata.name !== name) return [d];
    const out = change(d);
    return out === undefined ? [] : [out];
  });
}
const disable = (d: Application | Device) => ({ ...d, spec: { ...d.spec, core: { disabled: true } } }) as Application | Device;

test('disabling a connected device ends its session with 0x98 and no Will; the others stay', async () => {
  const f = mqttFixture();
  const dev = await f.connected('device1@app1', 'hey', 5, { will } as never);
  const gw = await f.connected('gateway1@app1', 'gw', 4);
  await f.bus.waitFor(2);
  f.registry.set(edit(mqttDocs(), 'device1', disable));
  const pkt = await dev.next() as IDisconnectPacket | undefined;
  assert.is(pkt?.cmd, 'disconnect');
  assert.is(pkt?.reasonCode, 0x98);
  await dev.whenClosed();
  await f.gw.revoked();
  assert.ok(!gw.closed, 'the gateway stays connected');
  await f.bus.waitFor(3);
  const kinds = f.bus.events.map((e) => `${e.extensions.device}:${e.type === EventTypes.connection ? JSON.parse(Buffer.from(e.data!).toString()).connected : e.extensions.topic}`);
  assert.equal(kinds.filter((k) => k.startsWith('device1')), ['device1:true', 'device1:false'], 'connected, disconnected, no Will');
  console.log(`  ended=1 kept=${gw.closed ? 0 : 1}`);
  await f.close();
});

test('deleting a connected device, or disabling its application, ends its sessions', async () => {
  const f = mqttFixture();
  const dev = await f.connected('device1@app1', 'hey', 4);
  const gw = await f.connected('gateway1@app1', 'gw', 4);
  const other = await f.connected('dev@plain', 'hey', 4);
  f.registry.set(edit(mqttDocs(), 'device1', () => undefined));
  await dev.whenClosed();
  await f.gw.revoked();
  assert.ok(!gw.closed);
  f.registry.set(edit(edit(mqttDocs(), 'device1', () => undefined), 'app1', disable));
  await gw.whenClosed();
  await f.gw.revoked();
  assert.ok(!other.closed, 'another application\'s device stays');
  await f.close();
});

test('an unrelated registry change ends nothing', async () => {
  const f = mqttFixture();
  const dev = await f.connected('device1@app1', 'hey', 5);
  f.registry.set(edit(mqttDocs(), 'device3', disable));
  await f.gw.revoked();
  assert.ok(!dev.closed);
  assert.is(f.gw.stats.connections, 1);
  await f.close();
});

test.run();
