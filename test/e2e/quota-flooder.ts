// The flooding tenant of test/e2e/quota-flood.test.ts, in its own process so its client work does
// not share the gateway's event loop: MQTT 5 devices each keep `window` QoS 1 publishes in flight
// as fast as the answers come (reconnecting after a second when the gateway disconnects them, as
// MQTT.js does by default), and HTTP loops post as fast as they are answered. Prints `flooding`
// once every device is connected, and its counts as one JSON line when it gets SIGTERM.
//
//   tsx test/e2e/quota-flooder.ts <mqtt port> <http port> <application> <password> <device,…> <http loops>

import mqtt, { type MqttClient } from 'mqtt';

const [mqttPort, httpPort, application, password, deviceList, httpLoops] = process.argv.slice(2);
const devices = deviceList!.split(',');
const WINDOW = 32;
const payload = Buffer.alloc(256, 'f');
const counts = { mqttSent: 0, mqttAccepted: 0, mqttRefused: 0, mqttOther: 0, disconnects: 0, disconnectReasons: {} as Record<string, number>, httpSent: 0, http202: 0, http429: 0, httpOther: 0 };
let stopping = false;
const clients: MqttClient[] = [];

/** Tops the client's QoS 1 publishes in flight up to WINDOW; each answer sends the next. */
function flood(c: MqttClient & { inFlight?: number }): void {
  const one = (): void => {
    if (stopping || !c.connected) return;
    counts.mqttSent++;
    c.inFlight = (c.inFlight ?? 0) + 1;
    c.publish('flood', payload, { qos: 1 }, (err) => {
      c.inFlight!--;
      if (err === undefined || err === null) counts.mqttAccepted++;
      else if ((err as { code?: number }).code === 0x97) counts.mqttRefused++;
      else counts.mqttOther++;
      one();
    });
  };
  while ((c.inFlight ?? 0) < WINDOW && c.connected && !stopping) one();
}

async function device(name: string): Promise<void> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
    username: `${name}@${application}`, password, protocolVersion: 5, reconnectPeriod: 1000, connectTimeout: 30_000,
  });
  clients.push(c);
  c.on('disconnect', (p) => {
    counts.disconnects++;
    const k = `0x${(p.reasonCode ?? 0).toString(16)}`;
    counts.disconnectReasons[k] = (counts.disconnectReasons[k] ?? 0) + 1;
  });
  c.on('connect', () => flood(c));
  c.on('error', () => { /* counted by the callbacks; reconnects */ });
  flood(c);
}

async function httpLoop(): Promise<void> {
  const auth = `Basic ${Buffer.from(`${devices[0]}@${application}:${password}`).toString('base64')}`;
  while (!stopping) {
    counts.httpSent++;
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/v1/flood`, { method: 'POST', body: payload, headers: { authorization: auth } });
      await res.arrayBuffer();
      if (res.status === 202) counts.http202++;
      else if (res.status === 429) counts.http429++;
      else counts.httpOther++;
    } catch {
      counts.httpOther++;
    }
  }
}

process.on('SIGTERM', () => {
  stopping = true;
  for (const c of clients) c.end(true);
  process.stdout.write(`${JSON.stringify(counts)}\n`, () => process.exit(0));
});

void Promise.all(devices.map(device)).then(() => {
  for (let i = 0; i < Number(httpLoops); i++) void httpLoop();
  process.stdout.write('flooding\n');
});
