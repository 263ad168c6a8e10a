// Registry changes as events: one io.drogue.registry.change.* per changed path of a local change,
// one io.drogue.registry.v1 per device change for the application's stream; remote changes are
// another instance's to publish. Through a real store: a device create and update reach the bus.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { changeEvents, publishRegistryChanges } from '../../../connectors/registry/change-events.ts';
import { BackendRegistryStore, MemoryBackend } from '../../../connectors/registry/index.ts';
import { InMemoryEventBus } from '../../../connectors/broker/memory.ts';
import { silentLogger, systemClock } from '../../../functions/ports/runtime.ts';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import type { RegistryChange } from '../../../functions/ports/registry.ts';

let n = 0;
const newId = () => `id-${n++}`;

test('local changes only; one registry event per path; a notification per device change', () => {
  const changes: RegistryChange[] = [
    { kind: 'application', application: 'a', uid: 'ua', revision: 1, path: '.', origin: 'local' },
    { kind: 'device', application: 'a', device: 'd/1', uid: 'ud', revision: 2, path: '.spec.authentication', origin: 'local' },
    { kind: 'device', application: 'a', device: 'd/1', uid: 'ud', revision: 2, path: '.metadata', origin: 'local' },
    { kind: 'device', application: 'a', device: 'other', uid: 'uo', revision: 1, path: '.', origin: 'remote' },
  ];
  const [registry, stream] = changeEvents(changes, { instance: 'drogue', newId, time: '2026-01-01T00:00:00Z' });
  assert.equal(registry.map((e) => [e.type, e.source, e.subject, e.extensions.partitionkey]), [
    ['io.drogue.registry.change.application', 'drogue:/drogue/a', '.', 'drogue/a'],
    ['io.drogue.registry.change.device', 'drogue:/drogue/a/d%2F1', '.spec.authentication', 'drogue/a/d/1'],
    ['io.drogue.registry.change.device', 'drogue:/drogue/a/d%2F1', '.metadata', 'drogue/a/d/1'],
  ]);
  assert.equal(JSON.parse(Buffer.from(registry[1]!.data!).toString()), { revision: 2, uid: 'ud' });
  assert.equal(stream.map((e) => [e.type, e.subject, e.extensions.device, e.extensions.deviceuid]), [
    ['io.drogue.registry.v1', 'devices', 'd/1', 'ud'], ['io.drogue.registry.v1', 'devices', 'd/1', 'ud'],
  ]);
});

test('a store\'s writes reach the bus: the change events, then the application\'s notifications', async () => {
  const store = new BackendRegistryStore(new MemoryBackend());
  const bus = new InMemoryEventBus();
  const seen: CloudEvent[] = [];
  await bus.addTrigger({ name: 'all', namespace: 'default', broker: 'mooring', subscriber: { uri: 'x' } }, async (e) => { seen.push(e); });
  const stop = publishRegistryChanges(store, bus, { instance: 'drogue', newId, clock: systemClock, logger: silentLogger });
  await store.createApplication({ metadata: { name: 'app1' } });
  await store.createDevice({ metadata: { name: 'dev1', application: 'app1' }, spec: { alias: ['x'] } });
  const deadline = Date.now() + 5000;
  while (seen.filter((e) => e.type === 'io.drogue.registry.v1').length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await bus.idle();
  const types = seen.map((e) => `${e.type} ${e.subject}`);
  assert.ok(types.includes('io.drogue.registry.change.application .'), types.join());
  assert.ok(types.includes('io.drogue.registry.change.device .'), types.join());
  assert.ok(types.includes('io.drogue.registry.v1 devices'), types.join());
  console.log(`  events published: ${seen.length}`);
  stop();
  await bus.close();
  await store.close();
});

test.run();
