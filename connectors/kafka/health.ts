// Whether Kafka is in reach, for the gateway's readiness (issue 13): a probe asks the cluster for
// its metadata every `intervalMs` on a client of its own with short timeouts and no retries, so a
// broker that is down is noticed within about two probes and a broker that is back at the next one.
// Probing starts with the first question (a process that is never asked never probes).

import { Kafka, logLevel, type Admin } from 'kafkajs';

export interface ProbeOptions {
  brokers: string[];
  clientId: string;
  /** Between two probes (default 2000 ms). */
  intervalMs?: number;
  /** A probe that takes longer failed (default 3000 ms). */
  timeoutMs?: number;
}

export class KafkaProbe {
  private readonly kafka: Kafka;
  private admin: Admin | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ok = true;
  private running = false;
  private closed = false;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(o: ProbeOptions) {
    this.intervalMs = o.intervalMs ?? 2000;
    this.timeoutMs = o.timeoutMs ?? 3000;
    this.kafka = new Kafka({
      clientId: `${o.clientId}-probe`, brokers: o.brokers, logLevel: logLevel.NOTHING,
      connectionTimeout: Math.min(1000, this.timeoutMs), requestTimeout: this.timeoutMs, retry: { retries: 0 },
    });
  }

  /** The last probe's answer (true until a probe failed); the first call starts probing. */
  get reachable(): boolean {
    if (this.timer === undefined && !this.closed) {
      this.timer = setInterval(() => void this.probe(), this.intervalMs);
      this.timer.unref();
      void this.probe();
    }
    return this.ok;
  }

  private async probe(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      this.admin ??= this.kafka.admin();
      const admin = this.admin;
      await Promise.race([
        admin.connect().then(() => admin.describeCluster()),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('probe timed out')), this.timeoutMs); }),
      ]);
      this.ok = true;
    } catch {
      this.ok = false;
      // A fresh client next time: kafkajs's admin does not always recover from a lost broker.
      const admin = this.admin;
      this.admin = undefined;
      void admin?.disconnect().catch(() => undefined);
    } finally {
      clearTimeout(timer);
      this.running = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
