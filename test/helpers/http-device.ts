// The HTTP counterpart of the fault tests' MQTT TestDevice (faults.ts): a device that posts
// numbered messages and counts a message acknowledged only when it was answered 202.

import { sleep, type Ack } from './faults.ts';

/**
 * One HTTP device posting numbered JSON messages to `POST /v1/telemetry` over keep-alive
 * connections (node's fetch), one request at a time: a message is acknowledged only by a 202.
 * Anything else (503 while the bus is down, a network error) leaves it unacknowledged, and
 * `complete` posts it again, as a device must. Counted like the MQTT devices.
 */
export class HttpTestDevice {
  readonly acked = new Map<number, Ack>();
  readonly acks: Ack[] = [];
  readonly sends: number[] = [];
  attempts = 0;
  refusals = 0;
  private stopped = false;

  constructor(readonly options: { url: string; app: string; device: string; password: string }) {}

  get name(): string { return this.options.device; }

  /** Posts `seq` once; true when answered 202. */
  async post(seq: number): Promise<boolean> {
    const o = this.options;
    const sentAt = Date.now();
    this.attempts++;
    this.sends.push(sentAt);
    try {
      const res = await fetch(`${o.url}/v1/telemetry`, {
        method: 'POST', body: JSON.stringify({ d: o.device, n: seq }),
        headers: { authorization: `Basic ${Buffer.from(`${o.device}@${o.app}:${o.password}`).toString('base64')}`, 'content-type': 'application/json' },
      });
      await res.arrayBuffer();
      if (res.status !== 202) { this.refusals++; return false; }
    } catch {
      return false;
    }
    const ack = { seq, sentAt, ackAt: Date.now() };
    this.acks.push(ack);
    if (!this.acked.has(seq)) this.acked.set(seq, ack);
    return true;
  }

  async run(total: number, intervalMs: number, deadline: number): Promise<void> {
    for (let seq = 0; seq < total && Date.now() < deadline && !this.stopped; seq++) {
      await this.post(seq);
      await sleep(intervalMs);
    }
  }

  async complete(total: number, deadline: number): Promise<void> {
    while (this.acked.size < total && Date.now() < deadline && !this.stopped) {
      for (let seq = 0; seq < total; seq++) if (!this.acked.has(seq)) await this.post(seq);
      if (this.acked.size < total) await sleep(300);
    }
  }

  close(): void { this.stopped = true; }
}
