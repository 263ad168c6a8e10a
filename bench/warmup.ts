// Before a Mooring run is measured, one message goes end to end (MQTT publish → bus → functions
// → push sink → a temporary HTTP listener on the sink port). On Kafka the Triggers' consumer
// groups join some seconds after start-up; without this the first seconds of a run would
// measure that, not the data path. The MQTT.js client is fine here: this is not the hot path.

import http from 'node:http';
import mqtt from 'mqtt';
import { credentialsFor } from './protocol.ts';
import type { RunningTarget } from './targets/types.ts';

export async function warmUp(target: RunningTarget, sinkPort: number, timeoutMs: number): Promise<void> {
  let arrived: () => void = () => {};
  const arrival = new Promise<void>((resolve) => { arrived = resolve; });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.headers['ce-type'] === 'io.drogue.event.v1') arrived();
      res.writeHead(200, { 'content-length': '0' }).end();
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(sinkPort, '127.0.0.1', resolve); });
  const c = credentialsFor(target.credentials, 0);
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${target.port}`, {
    clientId: c.clientId, ...(c.username ? { username: c.username } : {}), ...(c.password ? { password: c.password } : {}),
    protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 30_000,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await client.publishAsync(target.topic, '{"warmup":true}', { qos: 1 });
    await Promise.race([
      arrival,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`warm-up message not delivered within ${timeoutMs} ms`)), timeoutMs); }),
    ]);
  } finally {
    clearTimeout(timer);
    await client.endAsync(true).catch(() => {});
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
