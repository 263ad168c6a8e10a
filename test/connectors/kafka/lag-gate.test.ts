// The Kafka bus's backpressure on its consumers' lag (connectors/kafka/lag-gate.ts): publishes are
// held while a consumer is too far behind and progressing, let go in arrival order once it caught
// up, and never held by a consumer that stalled (Kafka keeps the events then).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LagGate, type LagSource } from '../../../connectors/kafka/lag-gate.ts';

function source(): LagSource & { lag: number; finalCount: number; lastProgressAt: number } {
  return { lag: 0, finalCount: 0, lastProgressAt: Date.now() };
}

const tick = () => new Promise((r) => setImmediate(r));

test('publishes pass while the consumer keeps up, and are held in order once it is maxLag behind', async () => {
  const c = source();
  const gate = new LagGate(() => [c], 100, 60_000);
  assert.is(gate.admit(), undefined);
  gate.wrote(100); // written since the consumer was first seen, none final yet: 100 behind
  const order: number[] = [];
  for (let i = 0; i < 600; i++) gate.admit()?.then(() => order.push(i));
  await tick();
  assert.is(gate.held, 600);
  assert.equal(order, []);
  c.finalCount = 50; // caught up to 50 behind
  c.lastProgressAt = Date.now();
  gate.progress();
  // Let go a bounded number per event-loop turn: wait turns until all are out (or clearly stuck).
  for (let i = 0; i < 200 && order.length < 600; i++) await tick();
  console.log(`[lag-gate] held=600 released=${order.length} inOrder=${order.every((v, i) => v === i)}`);
  assert.is(order.length, 600);
  assert.ok(order.every((v, i) => v === i));
  assert.is(gate.admit(), undefined);
  gate.close();
});

test('the lag seen at the last fetch holds publishes too', async () => {
  const c = source();
  const gate = new LagGate(() => [c], 100, 60_000);
  c.lag = 150;
  const held = gate.admit();
  assert.ok(held !== undefined);
  let released = false;
  void held!.then(() => { released = true; });
  c.lag = 10;
  gate.progress();
  await tick();
  assert.ok(released);
  gate.close();
});

test('a consumer that made no progress for stallMs holds nothing: Kafka keeps the backlog', async () => {
  const c = source();
  const gate = new LagGate(() => [c], 100, 200);
  assert.is(gate.admit(), undefined); // the consumer is seen: what is written from now on counts
  gate.wrote(1000);
  const held = gate.admit();
  assert.ok(held !== undefined);
  c.lastProgressAt = Date.now() - 1000; // stalled (its sink is down)
  const started = Date.now();
  await held; // the recheck timer sees the stall
  console.log(`[lag-gate-stall] released after ${Date.now() - started} ms of a stalled consumer`);
  assert.is(gate.admit(), undefined);
  gate.close();
});

test('an acknowledged publish is not held for lag, but queues behind held ones (order)', async () => {
  const c = source();
  const gate = new LagGate(() => [c], 10, 60_000);
  gate.track(c);
  gate.wrote(50);
  assert.is(gate.admit(false), undefined, 'QoS 1 alone passes while the consumer is behind');
  const order: string[] = [];
  void gate.admit(true)!.then(() => order.push('qos0'));
  const queued = gate.admit(false);
  assert.ok(queued !== undefined, 'QoS 1 after a held QoS 0 queues behind it');
  void queued!.then(() => order.push('qos1'));
  c.finalCount = 50;
  gate.progress();
  await tick();
  assert.equal(order, ['qos0', 'qos1']);
  gate.close();
});

test('maxLag 0 never holds, and close lets every held publish go', async () => {
  const c = source();
  assert.is(new LagGate(() => [c], 0, 2000).admit(), undefined);
  const gate = new LagGate(() => [c], 10, 60_000);
  assert.is(gate.admit(), undefined);
  gate.wrote(50);
  const held = [gate.admit(), gate.admit()];
  assert.ok(held.every((h) => h !== undefined));
  assert.is(gate.held, 2);
  gate.close();
  await Promise.all(held);
  assert.is(gate.held, 0);
});

test.run();
