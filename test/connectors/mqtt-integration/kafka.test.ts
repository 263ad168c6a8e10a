// The pull integrations' contract (test/contracts/integration.ts) in single-host mode: the
// application's stream read from Kafka, a consumer group per `{app}.{group}` on a test-unique
// broker topic, offsets committed after the consumer's PUBACK.

import { execFileSync } from 'node:child_process';
import { KafkaEventBus } from '../../../connectors/kafka/bus.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';
import { ensureKafka, uniqueName } from '../../helpers/kafka.ts';
import { integrationContract } from '../../contracts/integration.ts';

execFileSync('bash', ['scripts/ensure-mosquitto-clients.sh'], { stdio: 'inherit' });

integrationContract('kafka', async () => {
  const kafka = await ensureKafka();
  const prefix = uniqueName('integ');
  return {
    config: { kafkaBrokers: kafka.brokers },
    bus: async () => new KafkaEventBus({
      brokers: kafka.brokers, topic: `${prefix}-broker`, namespace: 'default', broker: 'mooring',
      groupId: (t) => `${prefix}-${t.name}`, logger: silentLogger,
    }),
  };
});
