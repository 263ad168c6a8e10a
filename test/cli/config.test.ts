import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configFromEnv } from '../../cli/config.ts';
import { isMooringError } from '../../events/errors.ts';

function refused(env: Record<string, string>): string {
  try {
    configFromEnv(env);
  } catch (err) {
    assert.ok(isMooringError(err, 'MOORING_INVALID_CONFIG'), String(err));
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

test('defaults: the README\'s ports, embedded mode, the demo registry, frozen', () => {
  const c = configFromEnv({});
  assert.is(c.mqttPort, 1883);
  assert.is(c.mqttsPort, 8883);
  assert.is(c.mqttWsPort, 8083);
  assert.is(c.ingressPort, 8081);
  assert.is(c.demoSinkPort, 8088);
  assert.is(c.kafkaBrokers, undefined);
  assert.is(c.registryPath, undefined);
  assert.is(c.dataDir, './.mooring');
  assert.is(c.instance, 'drogue');
  assert.is(c.maxPacketSize, 16 * 1024);
  assert.ok(Object.isFrozen(c));
});

test('Kafka brokers are a comma-separated list', () => {
  assert.equal(configFromEnv({ MOORING_KAFKA_BROKERS: 'a:9092, b:9092,' }).kafkaBrokers, ['a:9092', 'b:9092']);
});

test('bad values are refused with a message naming the variable', () => {
  assert.match(refused({ MOORING_MQTT_PORT: '70000' }), 'MOORING_MQTT_PORT');
  assert.match(refused({ MOORING_MQTT_PORT: 'x' }), 'MOORING_MQTT_PORT');
  assert.match(refused({ MOORING_MQTT_MAX_PACKET_SIZE: '0' }), 'MOORING_MQTT_MAX_PACKET_SIZE');
  assert.match(refused({ MOORING_LOG_LEVEL: 'loud' }), 'MOORING_LOG_LEVEL');
  assert.match(refused({ MOORING_TLS_CERT: 'cert.pem' }), 'MOORING_TLS_KEY');
  assert.match(refused({ MOORING_KAFKA_APP_TOPICS: '1' }), 'MOORING_KAFKA_BROKERS');
  assert.match(refused({ MOORING_KAFKA_BROKERS: 'k:9092', MOORING_KAFKA_APP_TOPICS: 'maybe' }), 'MOORING_KAFKA_APP_TOPICS');
});

test.run();
