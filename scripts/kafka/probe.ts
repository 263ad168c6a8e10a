// Waits until a Kafka broker answers a metadata request (kafkajs describeCluster), for
// scripts/kafka/kafka.sh start. Usage: probe.ts <host:port> <timeout seconds> [pid]
// Exits 0 when ready; 1 on timeout or when the broker process <pid> died meanwhile.
import { Kafka, logLevel } from 'kafkajs';

const [broker, timeoutArg, pidArg] = process.argv.slice(2);
if (!broker) {
  console.error('usage: probe.ts <host:port> <timeout seconds> [pid]');
  process.exit(2);
}
const deadline = Date.now() + Number(timeoutArg ?? 60) * 1000;
const pid = pidArg ? Number(pidArg) : undefined;

function alive(p: number): boolean {
  try { process.kill(p, 0); return true; } catch { return false; }
}

const kafka = new Kafka({
  clientId: 'mooring-probe', brokers: [broker], logLevel: logLevel.NOTHING,
  connectionTimeout: 1000, requestTimeout: 3000, retry: { retries: 0 },
});
let lastError = 'no attempt';
while (Date.now() < deadline) {
  if (pid !== undefined && !alive(pid)) {
    console.error(`probe: the broker process ${pid} exited`);
    process.exit(1);
  }
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length > 0 && cluster.controller !== null) {
      await admin.disconnect();
      process.exit(0);
    }
    lastError = 'no broker or controller in the metadata yet';
  } catch (e) {
    lastError = e instanceof Error ? e.message : String(e);
  }
  await admin.disconnect().catch(() => undefined);
  await new Promise((r) => setTimeout(r, 250));
}
console.error(`probe: ${broker} not ready: ${lastError}`);
process.exit(1);
