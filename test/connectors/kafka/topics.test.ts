// Topic and group names: Knative's Kafka broker naming and Drogue Cloud's per-application topics,
// checked against the cases of Drogue's own unit test (service-api/src/kafka.rs `topic_names`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applicationEventsTopic, brokerTopic, drogueResourceName, triggerGroupId } from '../../../connectors/kafka/topics.ts';

test('the broker topic and trigger groups are named as the Knative Kafka broker names them', () => {
  assert.is(brokerTopic('mooring', 'default'), 'knative-broker-mooring-default');
  assert.is(triggerGroupId('mooring', 'normalize'), 'knative-trigger-mooring-normalize');
});

test('a DNS-1123 application name shorter than the limit gives events-<app>', () => {
  assert.is(applicationEventsTopic('foo'), 'events-foo');
  assert.is(applicationEventsTopic('00foo'), 'events-00foo');
  assert.is(applicationEventsTopic('my-app'), 'events-my-app');
});

test('Drogue cases: too long, upper case and a trailing dash take the hashed route', () => {
  assert.is(
    applicationEventsTopic('0123456789012345678901234567890123456789012345678901234567890123456789'),
    'evt-109eb12c10c45d94ddac8eca7b818bed-01234567890123456789012345',
  );
  assert.is(applicationEventsTopic('FOO'), 'evt-901890a8e9c8cf6d5a1a542b229febff-foo');
  assert.is(applicationEventsTopic('foo-'), 'evt-03f19ca8da08c40c2d036c8915d383e2-foo');
});

test('characters Kafka cannot take become dashes, and the name never exceeds 63 characters', () => {
  const dotted = applicationEventsTopic('foo.bar');
  assert.match(dotted, /^evt-[0-9a-f]{32}-foo-bar$/);
  const odd = applicationEventsTopic('Ä_b c/d');
  assert.match(odd, /^evt-[0-9a-f]{32}-[-a-z0-9]*[a-z0-9]$/);
  for (const app of ['x'.repeat(58), 'x'.repeat(59), 'y'.repeat(200), 'ü'.repeat(40)]) {
    const t = applicationEventsTopic(app);
    assert.ok(t.length <= 63, `${t} is ${t.length} long`);
    assert.ok(/^[-a-z0-9]+$/.test(t) && !t.endsWith('-'), t);
  }
  assert.is(applicationEventsTopic('x'.repeat(55)), `events-${'x'.repeat(55)}`);
  assert.match(applicationEventsTopic('x'.repeat(56)), /^evt-/);
});

test('the other Drogue prefixes follow the same rule', () => {
  assert.is(drogueResourceName('user', 'usr', 'foo'), 'user-foo');
  assert.match(drogueResourceName('user', 'usr', 'FOO'), /^usr-901890a8e9c8cf6d5a1a542b229febff-foo$/);
});

test.run();
