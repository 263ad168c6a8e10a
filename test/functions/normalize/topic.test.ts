import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dialectFromString, dialectToString, parseTopic, resolveDialect } from '../../../functions/normalize/topic.ts';
import { isMooringError } from '../../../events/errors.ts';
import type { MqttDialect } from '../../../functions/ports/registry.ts';
import { app, device } from '../../helpers/memory-registry.ts';

const drogue: MqttDialect = { type: 'drogue/v1' };
const plain: MqttDialect = { type: 'plainTopic' };
const prefixed: MqttDialect = { type: 'plainTopic', devicePrefix: true };

const ok = (channel: string, dev?: string) => ({ ok: true, channel, device: dev });

test('drogue/v1: <channel> publishes as the connected device', () => {
  assert.equal(parseTopic('temp', drogue), ok('temp'));
});

test('drogue/v1: <channel>/<device> publishes on behalf of <device>', () => {
  assert.equal(parseTopic('temp/sensor1', drogue), ok('temp', 'sensor1'));
});

test('drogue/v1 is the default when no dialect is given', () => {
  assert.equal(parseTopic('temp/sensor1', undefined), ok('temp', 'sensor1'));
  assert.is(parseTopic('a/b/c', undefined).ok, false);
});

test('drogue/v1: an empty topic is invalid', () => {
  assert.is(parseTopic('', drogue).ok, false);
});

test('drogue/v1: three or more segments are invalid', () => {
  assert.is(parseTopic('a/b/c', drogue).ok, false);
  assert.is(parseTopic('a/b/c/d', drogue).ok, false);
  assert.is(parseTopic('a//', drogue).ok, false);
});

test('drogue/v1: an empty channel is invalid, an empty device segment means the device itself', () => {
  assert.is(parseTopic('/sensor1', drogue).ok, false);
  assert.is(parseTopic('/', drogue).ok, false);
  assert.equal(parseTopic('temp/', drogue), ok('temp'));
});

test('plainTopic: the whole topic is the channel', () => {
  assert.equal(parseTopic('foo/bar/baz//bam/bum', plain), ok('foo/bar/baz//bam/bum'));
  assert.equal(parseTopic('foo', plain), ok('foo'));
  assert.equal(parseTopic('/leading', plain), ok('/leading'));
});

test('plainTopic: an empty topic is invalid', () => {
  assert.is(parseTopic('', plain).ok, false);
});

test('plainTopic with devicePrefix: the first segment is the device', () => {
  assert.equal(parseTopic('foo/bar/baz//bam/bum', prefixed), ok('bar/baz//bam/bum', 'foo'));
  assert.equal(parseTopic('dev/temp', prefixed), ok('temp', 'dev'));
});

test('plainTopic with devicePrefix: /x is the connected device itself', () => {
  assert.equal(parseTopic('/x', prefixed), ok('x'));
  assert.equal(parseTopic('//x', prefixed), ok('/x'));
});

test('plainTopic with devicePrefix: a single segment is an error', () => {
  assert.is(parseTopic('foo', prefixed).ok, false);
});

test('plainTopic with devicePrefix: an empty topic or an empty channel is an error', () => {
  assert.is(parseTopic('', prefixed).ok, false);
  assert.is(parseTopic('foo/', prefixed).ok, false);
  assert.is(parseTopic('/', prefixed).ok, false);
});

test('plainTopic with devicePrefix: false behaves like plainTopic', () => {
  assert.equal(parseTopic('a/b', { type: 'plainTopic', devicePrefix: false }), ok('a/b'));
});

test('an unknown dialect type fails the parse', () => {
  const r = parseTopic('a', { type: 'bogus' } as unknown as MqttDialect);
  assert.is(r.ok, false);
});

test('resolveDialect: the device wins over the application', () => {
  const a = app('a', { mqtt: { dialect: plain } });
  const d = device('a', 'd', { mqtt: { dialect: prefixed } });
  assert.equal(resolveDialect(d, a), prefixed);
});

test('resolveDialect: the application applies when the device has none', () => {
  assert.equal(resolveDialect(device('a', 'd'), app('a', { mqtt: { dialect: plain } })), plain);
});

test('resolveDialect: drogue/v1 by default', () => {
  assert.equal(resolveDialect(device('a', 'd'), app('a')), drogue);
  assert.equal(resolveDialect(undefined, undefined), drogue);
});

test('resolveDialect: a dialect that does not parse throws MOORING_INVALID_CONFIG', () => {
  const bad = [{ type: 'mqtt/v9' }, 'drogue/v1', { type: 'plainTopic', devicePrefix: 'yes' }, null, []];
  for (const dialect of bad) {
    const d = device('a', 'd', { mqtt: { dialect: dialect as unknown as MqttDialect } });
    try {
      resolveDialect(d, app('a'));
      assert.unreachable(`accepted ${JSON.stringify(dialect)}`);
    } catch (e) {
      assert.ok(isMooringError(e, 'MOORING_INVALID_CONFIG'), String(e));
    }
  }
  try {
    resolveDialect(device('a', 'd'), app('a', { mqtt: { dialect: { type: 'nope' } as unknown as MqttDialect } }));
    assert.unreachable();
  } catch (e) {
    assert.ok(isMooringError(e, 'MOORING_INVALID_CONFIG'));
  }
});

test('dialect extension strings round-trip', () => {
  for (const d of [drogue, plain, prefixed]) assert.equal(dialectFromString(dialectToString(d)), d);
  assert.is(dialectToString(prefixed), 'plainTopic;devicePrefix');
  assert.is(dialectToString(plain), 'plainTopic');
  assert.is(dialectToString(drogue), 'drogue/v1');
  assert.equal(dialectFromString('plainTopic;prefix'), prefixed);
  assert.is(dialectFromString('v2'), undefined);
});

test.run();
