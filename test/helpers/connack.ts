// The CONNACK return code a gateway gives an MQTT 3.1.1 CONNECT (mqtt.js client): 0 accepted,
// else the refusal's code (4: bad user name or password, 5: not authorized). For the tests that start Mooring as a separate
// process (the built output, the image) and only need to know that it answers.

import mqtt from 'mqtt';

export async function connackCode(port: number, username: string, password: string, host = '127.0.0.1'): Promise<number> {
  try {
    const client = await mqtt.connectAsync(`mqtt://${host}:${port}`, {
      username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 30_000,
    });
    await client.endAsync();
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}
