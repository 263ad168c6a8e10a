// The stop spool: records survive a write/read round trip byte for byte (binary data, typed
// extensions), files appear whole or not at all, orphans are kept, files go only after their
// events are back in the bus; and, with the in-memory bus, what a stop leaves is what comes back.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { deliveryFailed } from '../../../events/errors.ts';
import { InMemoryEventBus } from '../../../connectors/broker/memory.ts';
import {
  attachSpool, spoolableOf, decodeRecord, encodeRecord, readRecords, spoolFiles, writeRecords, type SpoolableBus, type SpoolRecord,
} from '../../../connectors/knative/spool.ts';
import type { Subscriber, TriggerSpec } from '../../../functions/ports/bus.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mooring-spool-'));
  dirs.push(d);
  return d;
}
test.after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const BINARY = Uint8Array.from([0, 1, 2, 0xfe, 0xff, 0x80, 10, 13, 0x7b]);

function event(n: number, extra: Partial<CloudEvent> = {}): CloudEvent {
  return {
    specversion: '1.0', id: `id-${n}`, source: 'drogue://app1/dev1', type: 'io.drogue.event.v1',
    subject: 'temperature', time: '2026-12-04T12:00:00.000Z', datacontenttype: 'application/octet-stream',
    data: BINARY,
    extensions: { application: 'app1', device: 'dev1', partitionkey: 'app1/dev1', qos: 1, retain: false, seq: n },
    ...extra,
  };
}

/** A fake bus with the spool hooks: `known` triggers accept restores. */
function fakeBus(known: string[]): SpoolableBus & { restored: SpoolRecord[] } {
  const restored: SpoolRecord[] = [];
  return {
    keep: undefined,
    restored,
    restore(trigger, ev) {
      if (!known.includes(trigger)) return false;
      restored.push({ trigger, event: ev });
      return true;
    },
    idle: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

test('a record round-trips byte for byte: binary data, typed extensions, every core attribute', () => {
  const ev = event(1, { dataschema: 'https://example.com/s' });
  const back = decodeRecord(encodeRecord({ trigger: 'default/app-app1', event: ev }));
  assert.is(back.trigger, 'default/app-app1');
  assert.equal({ ...back.event, data: Array.from(back.event.data!) }, { ...ev, data: Array.from(BINARY) });
  assert.is(back.event.extensions.qos, 1);
  assert.is(back.event.extensions.retain, false);
});

test('JSON data is kept as written (base64), not re-serialized; no data stays no data', () => {
  const text = '{ "temp" :21.50 }';
  const ev = event(2, { datacontenttype: 'application/json', data: Buffer.from(text) });
  const line = encodeRecord({ trigger: 't', event: ev });
  assert.ok(line.includes('data_base64'));
  assert.is(Buffer.from(decodeRecord(line).event.data!).toString(), text);
  const { data: _data, ...noData } = event(3);
  const back = decodeRecord(encodeRecord({ trigger: 't', event: noData })).event;
  assert.is(back.data, undefined);
  assert.is(back.datacontenttype, 'application/octet-stream');
});

test('a record without a trigger or with an invalid event is refused', () => {
  assert.throws(() => decodeRecord('{"event":{}}'), /trigger/);
  assert.throws(() => decodeRecord('{"trigger":"t","event":{"specversion":"1.0"}}'));
});

test('writeRecords: atomic (no .tmp left), fsynced file, one line per record; nothing to write, no file', async () => {
  const dir = tempDir();
  assert.is(await writeRecords(dir, []), undefined);
  assert.equal(readdirSync(dir), []);
  const records = [1, 2, 3].map((n) => ({ trigger: 'default/app-app1', event: event(n) }));
  const path = await writeRecords(dir, records);
  assert.ok(path);
  assert.equal(readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
  assert.is(readFileSync(path!, 'utf8').split('\n').filter((l) => l !== '').length, 3);
  assert.equal((await readRecords(path!)).map((r) => r.event.id), ['id-1', 'id-2', 'id-3']);
});

test('an unfinished .tmp file (a crash mid-write) is not a spool file; files come oldest first', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'stop-2026-01-01.jsonl.tmp'), '{"trigger":');
  const a = await writeRecords(dir, [{ trigger: 't', event: event(1) }]);
  const b = await writeRecords(dir, [{ trigger: 't', event: event(2) }]);
  assert.equal(await spoolFiles(dir), [a, b]);
  assert.equal(await spoolFiles(join(dir, 'missing')), []);
});

test('restore: known triggers get their events in order, orphans go to their own file, spool files go', async () => {
  const dir = tempDir();
  await writeRecords(dir, [
    { trigger: 'default/app-app1', event: event(1) },
    { trigger: 'default/app-gone', event: event(2) },
    { trigger: 'default/app-app1', event: event(3) },
  ]);
  const bus = fakeBus(['default/app-app1']);
  const result = await attachSpool(bus, { dir, logger: silentLogger }).restore();
  console.log(`[spool] restore: restored=${result.restored} orphaned=${result.orphaned} files=${result.files}`);
  assert.equal(result, { restored: 2, orphaned: 1, files: 1 });
  assert.equal(bus.restored.map((r) => r.event.id), ['id-1', 'id-3']);
  const names = readdirSync(dir);
  assert.is(names.length, 1);
  assert.ok(names[0]!.startsWith('orphaned-'));
  const orphans = await readRecords(join(dir, names[0]!));
  assert.equal(orphans.map((o) => [o.trigger, o.event.id]), [['default/app-gone', 'id-2']]);
  // Orphan files are not read back: a second start restores nothing and keeps them.
  assert.equal(await attachSpool(fakeBus(['default/app-gone']), { dir, logger: silentLogger }).restore(), { restored: 0, orphaned: 0, files: 0 });
  assert.is(readdirSync(dir).length, 1);
});

test('restore: an unreadable spool file is set aside as .bad, not deleted', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'stop-x.jsonl'), 'not json\n');
  const result = await attachSpool(fakeBus([]), { dir, logger: silentLogger }).restore();
  assert.equal(result, { restored: 0, orphaned: 0, files: 0 });
  assert.equal(readdirSync(dir), ['stop-x.jsonl.bad']);
});

// ---- with the in-memory bus ---------------------------------------------------------------------

const trigger = (name: string): TriggerSpec => ({
  namespace: 'default', name, broker: 'mooring', filter: { attributes: { type: 'io.drogue.event.v1' } },
  subscriber: { uri: 'http://app.invalid/' },
  delivery: { retry: 100, backoffPolicy: 'linear', backoffDelay: 'PT0.05S' },
});

test('in-memory bus: a stop with the endpoint down spools every event (queued and mid-retry) in order; a restart delivers them', async () => {
  const dir = tempDir();
  const down: Subscriber = async () => { throw deliveryFailed('unavailable', 503); };
  const first = new InMemoryEventBus();
  const spool1 = attachSpool(first, { dir, drainMs: 100, logger: silentLogger });
  await first.addTrigger(trigger('app-app1'), down);
  const sent = [1, 2, 3, 4, 5].map((n) => event(n));
  for (const ev of sent) await first.publish(ev);
  const spooled = await spool1.close();
  assert.is(spooled, 5);
  assert.equal((await readRecords((await spoolFiles(dir))[0]!)).map((r) => r.event.id), sent.map((e) => e.id));

  const got: CloudEvent[] = [];
  const second = new InMemoryEventBus();
  const spool2 = attachSpool(second, { dir, logger: silentLogger });
  await second.addTrigger(trigger('app-app1'), async (ev) => { got.push(ev); return undefined; });
  const result = await spool2.restore();
  await second.idle();
  const lost = sent.filter((e) => !got.some((g) => g.id === e.id)).length;
  console.log(`[spool] in-memory: sent=${sent.length} spooled=${spooled} restored=${result.restored} delivered=${got.length} lost=${lost}`);
  assert.is(lost, 0);
  assert.equal(got.map((e) => e.id), sent.map((e) => e.id));
  assert.equal(Array.from(got[0]!.data!), Array.from(BINARY));
  assert.equal(await spoolFiles(dir), []);
  assert.is(await spool2.close(), 0);
});

test('in-memory bus: what is delivered within the drain time is not spooled', async () => {
  const dir = tempDir();
  let calls = 0;
  const flaky: Subscriber = async () => { if (++calls <= 2) throw deliveryFailed('unavailable', 503); return undefined; };
  const bus = new InMemoryEventBus();
  const spool = attachSpool(bus, { dir, drainMs: 10_000, logger: silentLogger });
  await bus.addTrigger(trigger('app-app1'), flaky);
  await bus.publish(event(1));
  assert.is(await spool.close(), 0);
  assert.equal(await spoolFiles(dir), []);
});

test('in-memory bus: a restored event that fails for good goes to the trigger\'s dead-letter sink', async () => {
  const dir = tempDir();
  await writeRecords(dir, [{ trigger: 'default/app-app1', event: event(1) }]);
  const dead: CloudEvent[] = [];
  const bus = new InMemoryEventBus();
  const spool = attachSpool(bus, { dir, logger: silentLogger });
  await bus.addTrigger(trigger('app-app1'), async () => { throw deliveryFailed('bad request', 400); },
    async (ev) => { dead.push(ev); return undefined; });
  assert.equal(await spool.restore(), { restored: 1, orphaned: 0, files: 1 });
  await bus.idle();
  console.log(`[spool] dead-lettered=${dead.length}`);
  assert.equal(dead.map((e) => [e.id, e.extensions.knativeerrorcode]), [['id-1', 400]]);
  assert.is(await spool.close(), 0);
});

test('in-memory bus: a reply finished while the bus closes is kept for the trigger it matches', async () => {
  const dir = tempDir();
  const bus = new InMemoryEventBus();
  const spool = attachSpool(bus, { dir, drainMs: 0, logger: silentLogger });
  let release!: () => void;
  const started = new Promise<void>((resolve) => {
    const fn: Subscriber = async (ev) => {
      resolve();
      await new Promise<void>((r) => { release = r; });
      return { ...ev, id: `${ev.id}-reply`, type: 'io.drogue.event.v1' };
    };
    void bus.addTrigger({ ...trigger('normalize'), filter: { attributes: { type: 'raw' } } }, fn);
  });
  await bus.addTrigger(trigger('app-app1'), async () => undefined);
  await bus.publish(event(1, { type: 'raw' }));
  await started;
  // Release the function only once the bus is closed (the spool drains for 0 ms first).
  const close = bus.close.bind(bus);
  const isClosed = new Promise<void>((resolve) => { bus.close = () => { const p = close(); resolve(); return p; }; });
  const closing = spool.close();
  await isClosed;
  release();
  assert.is(await closing, 1);
  const records = await readRecords((await spoolFiles(dir))[0]!);
  assert.equal(records.map((r) => [r.trigger, r.event.id]), [['default/app-app1', 'id-1-reply']]);
});

test('in-memory bus: a trigger replaced while running hands its queued events to its successor', async () => {
  const dir = tempDir();
  const bus = new InMemoryEventBus();
  const spool = attachSpool(bus, { dir, logger: silentLogger });
  await bus.addTrigger(trigger('app-app1'), async () => { throw deliveryFailed('unavailable', 503); });
  for (const n of [1, 2, 3]) await bus.publish(event(n));
  await bus.removeTrigger('default', 'app-app1');
  assert.is(spool.requeue(), 0); // no successor yet: still kept
  const got: string[] = [];
  await bus.addTrigger(trigger('app-app1'), async (ev) => { got.push(ev.id); return undefined; });
  assert.is(spool.requeue(), 3);
  await bus.idle();
  console.log(`[spool] replaced trigger: delivered=${got.length} lost=${3 - got.length}`);
  assert.equal(got, ['id-1', 'id-2', 'id-3']);
  assert.is(await spool.close(), 0);
});

test('in-memory bus: restore into a trigger that does not exist, or a closed bus, is refused', async () => {
  const bus = new InMemoryEventBus();
  assert.is(bus.restore('default/none', event(1)), false);
  await bus.addTrigger(trigger('app-app1'), async () => undefined);
  await bus.close();
  assert.is(bus.restore('default/app-app1', event(1)), false);
});

test('the in-memory bus declares the spool hooks; a bus without them (Kafka keeps its own) gets no spool', async () => {
  const bus = new InMemoryEventBus();
  const view = spoolableOf(bus);
  assert.ok(view !== undefined);
  view!.keep = () => {};
  assert.ok(bus.keep !== undefined, 'keep is set on the bus itself');
  view!.keep = undefined;
  assert.is(bus.keep, undefined);
  const durable = { ...bus, capabilities: { kind: 'kafka' as const } } as unknown as InMemoryEventBus;
  assert.is(spoolableOf(durable), undefined);
  await bus.close();
});

test.run();
