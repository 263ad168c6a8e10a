// The command round trip (Mooring only): API → device → reply → API. One device (MQTT 3.1.1, raw
// socket) subscribes to its commands and answers each at once on `command/reply/<request id>`
// (3.1.1 gets the request id as the command topic's last level); the application sends
// `POST …?command=ping&timeout=10` to the command API one after another and times each answer.
// Sequential on purpose: the figure is the latency of one command, not a throughput.

import type { CommandJob, Measurement } from '../protocol.ts';
import { credentialsFor } from '../protocol.ts';
import { percentile } from '../stats.ts';
import { PUBLISH, mqttConnect, mqttSubscribe, publishPacket } from './wire.ts';

const CONNECT_TIMEOUT_MS = 30_000;
const now = (): number => performance.now();

export async function commandRoundTrip(job: CommandJob, started: () => void): Promise<Measurement> {
  const deadline = now() + job.timeLimitMs;
  const device = await mqttConnect(job.port, credentialsFor(job.credentials, 0), CONNECT_TIMEOUT_MS);
  await mqttSubscribe(device, 'command/inbox//#', 0, CONNECT_TIMEOUT_MS);
  device.onFrame = (type, body, start) => {
    if (type !== PUBLISH) return;
    const len = body.readUInt16BE(start);
    const topic = body.toString('utf8', start + 2, start + 2 + len);
    const request = topic.slice(topic.lastIndexOf('/') + 1);
    device.socket.write(publishPacket(`command/reply/${request}`, Buffer.from('pong'), 0));
  };
  const { url, user, token, application } = job.api;
  const target = `${url}/api/command/v1alpha1/apps/${application}/devices/${credentialsFor(job.credentials, 0).username?.split('@')[0]}?command=ping&timeout=10`;
  const headers = { authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`, 'content-type': 'text/plain' };
  const latencies = new Float64Array(job.commands);
  let answered = 0;
  let failed = 0;
  let firstError: string | undefined;
  started();
  const t0 = now();
  for (let i = 0; i < job.commands && now() < deadline; i++) {
    const t = now();
    try {
      const res = await fetch(target, { method: 'POST', headers, body: `ping ${i}` });
      const body = await res.text();
      if (res.status === 200 && body === 'pong') latencies[answered++] = now() - t;
      else { failed++; firstError ??= `${res.status} ${body.slice(0, 200)}`; }
    } catch (e) {
      failed++;
      firstError ??= (e as Error).message;
    }
  }
  const t1 = now();
  device.socket.destroy();
  const samples = latencies.subarray(0, answered);
  const m: Measurement = {
    sent: answered + failed, acked: answered, throughput: answered / ((t1 - t0) / 1000),
    latencyP50Ms: percentile(samples, 0.5), latencyP99Ms: percentile(samples, 0.99),
  };
  const notes: string[] = [];
  if (failed > 0) notes.push(`${failed} commands failed (first: ${firstError})`);
  if (answered + failed < job.commands) notes.push(`${job.commands - answered - failed} not sent within the time limit`);
  if (notes.length > 0) m.note = notes.join('; ');
  return m;
}
