// The in-order acknowledgement queue on its own: a fake sink records what would be written.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AckQueue, type AckSink } from '../../../connectors/mqtt/ack-queue.ts';
import { ACK, encodeAck } from '../../../connectors/mqtt/codec.ts';

class FakeSink implements AckSink {
  readonly sent: Buffer[] = [];
  readonly refused: number[] = [];
  constructor(readonly v5: boolean) {}
  send(buf: Buffer): void { this.sent.push(buf); }
  refusedWithoutWords(rc: number): void { this.refused.push(rc); }
}

const puback = (id: number, rc = 0, v5 = true): Buffer => encodeAck(ACK.puback, id, rc, v5);
const pubrec = (id: number, rc = 0, v5 = true): Buffer => encodeAck(ACK.pubrec, id, rc, v5);

test('[MQTT-4.6.0-2] acknowledgements leave in receive order whatever order the bus answers in', () => {
  const sink = new FakeSink(true);
  const q = new AckQueue(sink);
  const a = q.expect(1, 1);
  const b = q.expect(2, 1);
  const c = q.expect(3, 1);
  q.settle(c, 0);
  q.settle(b, 0);
  assert.equal(sink.sent, [], 'nothing before the head is settled');
  q.settle(a, 0);
  assert.equal(sink.sent, [puback(1), puback(2), puback(3)]);
  assert.is(q.size, 0);
});

test('v5: a refused publish gets its reason code in its own PUBACK, in its place', () => {
  const sink = new FakeSink(true);
  const q = new AckQueue(sink);
  const a = q.expect(1, 1);
  const b = q.expect(2, 1);
  q.settle(b, 0x97);
  q.settle(a, 0);
  assert.equal(sink.sent, [puback(1), puback(2, 0x97)]);
  assert.equal(sink.refused, []);
});

test('[MQTT-3.3.5-2] 3.1.1: a refused publish is not acknowledged; the sink is told to close', () => {
  const sink = new FakeSink(false);
  const q = new AckQueue(sink);
  const a = q.expect(1, 1);
  const b = q.expect(2, 1);
  const c = q.expect(3, 1);
  q.settle(b, 0x80);
  q.settle(c, 0);
  q.settle(a, 0);
  assert.equal(sink.sent, [puback(1, 0, false)], 'the one before the refusal is acknowledged, none after');
  assert.equal(sink.refused, [0x80]);
});

test('QoS 2 (method A): PUBREC once settled, the identifier is held until PUBREL', () => {
  const sink = new FakeSink(true);
  const q = new AckQueue(sink);
  const a = q.expect(7, 2);
  assert.ok(q.qos2InProgress(7), 'in progress while the bus has not answered');
  assert.not.ok(q.awaitingRelease(7));
  q.settle(a, 0);
  assert.equal(sink.sent, [pubrec(7)]);
  assert.ok(q.qos2InProgress(7));
  assert.ok(q.awaitingRelease(7));
  assert.is(q.size, 1, 'counts against Receive Maximum until PUBCOMP');
  assert.ok(q.release(7));
  assert.not.ok(q.release(7), 'a second PUBREL finds nothing');
  assert.not.ok(q.qos2InProgress(7));
  assert.is(q.size, 0);
});

test('QoS 2 refused (v5): PUBREC carries the code and the identifier is not held', () => {
  const sink = new FakeSink(true);
  const q = new AckQueue(sink);
  q.settle(q.expect(9, 2), 0x87);
  assert.equal(sink.sent, [pubrec(9, 0x87)]);
  assert.not.ok(q.awaitingRelease(9));
  assert.is(q.size, 0);
});

test('size counts the waiting slots and the identifiers awaiting PUBREL', () => {
  const q = new AckQueue(new FakeSink(true));
  q.expect(1, 1);
  q.settle(q.expect(2, 2), 0);
  assert.is(q.size, 2, 'slot 1 waits; slot 2 is behind it, unsent, still queued');
});

test.run();
