// The batching, idempotent producer under KafkaEventBus.publish. kafkajs has no linger: sends are
// queued for `lingerMs` or until `batchSize` records, then go out in one sendBatch with acks=all;
// each publish resolves when its whole batch is acknowledged by every in-sync replica.
// "Nothing acknowledged is lost": a publish that cannot be acknowledged within `publishTimeoutMs`
// rejects with MOORING_UNAVAILABLE (so no PUBACK or 202 is sent), and one that would overflow the
// queue rejects at once with MOORING_BUS_FULL. A failed send is retried (with a fresh producer,
// so the idempotent sequence starts clean) until the waiting publishes' deadlines pass.

import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { MooringError } from '../../events/errors.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import type { EncodedRecord } from '../../events/bindings/kafka.ts';

export interface BatchingProducerOptions {
  /** Time a record waits for more to share its batch (ms). */
  lingerMs: number;
  /** Records per sendBatch. */
  batchSize: number;
  /** Records queued or in flight before publish answers MOORING_BUS_FULL. */
  maxPending: number;
  /** A publish not acknowledged within this time rejects with MOORING_UNAVAILABLE (ms). */
  publishTimeoutMs: number;
  logger: Logger;
}

interface Pending {
  readonly topic: string;
  readonly records: EncodedRecord[];
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve(): void;
  reject(e: unknown): void;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1000;

export class BatchingProducer {
  private readonly kafka: Kafka;
  private readonly options: BatchingProducerOptions;
  private readonly queue: Pending[] = [];
  /** Records waiting or in flight (not yet settled). */
  private pending = 0;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = RETRY_MIN_MS;
  private idle: (() => void)[] = [];
  private closed = false;

  constructor(kafka: Kafka, options: BatchingProducerOptions) {
    this.kafka = kafka;
    this.options = options;
  }

  /** Resolves once Kafka acknowledged every record (acks=all). */
  send(topic: string, records: EncodedRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new MooringError('MOORING_UNAVAILABLE', 'the Kafka bus is closed'));
    if (records.length === 0) return Promise.resolve();
    if (this.pending + records.length > this.options.maxPending) {
      return Promise.reject(new MooringError('MOORING_BUS_FULL', `${this.pending} events wait for Kafka already`));
    }
    return new Promise<void>((resolve, reject) => {
      const entry: Pending = { topic, records, settled: false, timer: undefined, resolve, reject };
      entry.timer = setTimeout(() => {
        this.settle(entry, new MooringError('MOORING_UNAVAILABLE', `Kafka did not acknowledge within ${this.options.publishTimeoutMs} ms`));
      }, this.options.publishTimeoutMs);
      this.pending += records.length;
      this.queue.push(entry);
      this.schedule();
    });
  }

  /** Records waiting for an acknowledgement. */
  get size(): number {
    return this.pending;
  }

  /** Waits until every queued record is settled (acknowledged or timed out), then disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pending > 0) {
      this.schedule(true);
      await new Promise<void>((r) => this.idle.push(r));
    }
    clearTimeout(this.lingerTimer);
    clearTimeout(this.retryTimer);
    const producer = this.producer ?? (await this.connecting?.catch(() => undefined));
    this.producer = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  private settle(entry: Pending, error?: unknown): void {
    if (entry.settled) return;
    entry.settled = true;
    clearTimeout(entry.timer);
    this.pending -= entry.records.length;
    if (error === undefined) entry.resolve();
    else entry.reject(error);
    if (this.pending === 0) {
      for (const r of this.idle.splice(0)) r();
    }
  }

  private queuedRecords(): number {
    let n = 0;
    for (const e of this.queue) if (!e.settled) n += e.records.length;
    return n;
  }

  private schedule(now = false): void {
    if (this.pumping || this.retryTimer !== undefined) return;
    if (now || this.options.lingerMs <= 0 || this.queuedRecords() >= this.options.batchSize) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      void this.pump();
    } else if (this.lingerTimer === undefined) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        void this.pump();
      }, this.options.lingerMs);
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const batch = this.takeBatch();
        if (batch.length === 0) break;
        try {
          await this.sendBatch(batch);
          this.retryDelay = RETRY_MIN_MS;
          for (const e of batch) this.settle(e);
        } catch (e) {
          if (isPermanent(e)) {
            const error = new MooringError('MOORING_INTERNAL', `Kafka refused the batch: ${(e as Error).message}`, { cause: e });
            for (const entry of batch) this.settle(entry, error);
            continue;
          }
          this.options.logger.warn({ err: (e as Error).message, records: this.pending }, 'Kafka send failed; retrying');
          this.resetProducer();
          // Unsettled entries go back to the head, in order; their own deadlines bound the retries.
          this.queue.unshift(...batch.filter((x) => !x.settled));
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.schedule(true);
          }, this.retryDelay);
          this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
          return;
        }
      }
    } finally {
      this.pumping = false;
    }
    // Records that arrived while the last batch was in flight.
    if (this.queuedRecords() > 0) this.schedule(this.closed || this.queuedRecords() >= this.options.batchSize);
  }

  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let n = 0;
    while (this.queue.length > 0 && n < this.options.batchSize) {
      const e = this.queue.shift()!;
      if (e.settled) continue;
      batch.push(e);
      n += e.records.length;
    }
    return batch;
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const e of batch) {
      let list = byTopic.get(e.topic);
      if (!list) byTopic.set(e.topic, (list = []));
      for (const r of e.records) list.push(r);
    }
    const topicMessages: TopicMessages[] = [];
    for (const [topic, messages] of byTopic) topicMessages.push({ topic, messages });
    const producer = await this.connect();
    await producer.sendBatch({ topicMessages, acks: -1, timeout: this.options.publishTimeoutMs });
  }

  private connect(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        // kafkajs requires a single request in flight for the idempotent producer's ordering.
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      try {
        await producer.connect();
      } catch (e) {
        await producer.disconnect().catch(() => undefined);
        throw e;
      }
      this.producer = producer;
      return producer;
    })().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private resetProducer(): void {
    const old = this.producer;
    this.producer = undefined;
    if (old) void old.disconnect().catch(() => undefined);
  }
}

/** Errors a retry cannot fix: the records themselves are refused (too large, invalid). */
function isPermanent(e: unknown): boolean {
  const err = e as { name?: string; retriable?: boolean; type?: string };
  if (err?.name === 'KafkaJSProtocolError' && err.retriable === false) {
    return ['MESSAGE_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_TOPIC_EXCEPTION', 'TOPIC_AUTHORIZATION_FAILED'].includes(err.type ?? '');
  }
  return false;
}
