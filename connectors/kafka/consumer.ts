// One Knative Trigger on Kafka: a consumer group (`knative-trigger-<ns>-<name>`) reading the
// broker topic, handing each record to the Trigger's engine (connectors/knative/engine.ts: filter,
// delivery, dead letter, fusion of replies), and committing a record's offset only once the
// engine's outcome is final: delivered (and its reply published with acks=all, or handed to the
// in-process Triggers serving it), or accepted by the dead-letter sink, or dropped when there is
// none. A record the engine keeps (its dead-letter sink down) is not committed: the consumer waits
// the engine's pause and the record is fetched and delivered again. Partitions are
// processed concurrently; inside a fetched batch the records of one key (partitionkey) form a lane
// delivered strictly in order, and different keys' lanes run concurrently (bounded), so
// per-partitionkey order holds without one device waiting for another. The committed offset is
// the low-water mark: the last record before the first one whose outcome is not final. A record
// whose outcome is not final when the trigger stops stays uncommitted and is delivered again by
// the next consumer of the group (at least once; later records of other keys may be repeated).

import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { CloudEvent } from '../../events/cloudevent.ts';
import type { Sleep } from '../knative/delivery.ts';
import type { Fusion, Outcome } from '../knative/engine.ts';
import { isMooringError, MooringError } from '../../events/errors.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import { decodeKafka } from '../../events/bindings/kafka.ts';
import type { ExtensionTypes } from '../../events/bindings/extensions.ts';

export interface TriggerConsumerOptions {
  topic: string;
  groupId: string;
  /** Partitions processed at the same time (the topic's partition count). */
  concurrency: number;
  /** Keys (lanes) of one partition's batch delivered at the same time. */
  keyConcurrency: number;
  /** Where a group without a committed offset starts: `earliest` (default) or `latest`. */
  startFrom: 'earliest' | 'latest';
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  /** How long addTrigger waits for the group join. */
  joinTimeoutMs: number;
  /** Longest time a final offset waits for its commit (commits are batched over partitions). */
  commitIntervalMs: number;
  /**
   * A fetch answers once it has this many bytes or waited `fetchMaxWaitMs` (defaults 1 and 500):
   * larger fetches cost Kafka and the decoder less per record, at the price of that wait at low rates.
   */
  fetchMinBytes?: number;
  fetchMaxWaitMs?: number;
  typedExtensions: ExtensionTypes;
  sleep: Sleep;
  logger: Logger;
  /** Publishes a reply (acks=all); rejects when Kafka does not take it. */
  publish(events: CloudEvent[]): Promise<void>;
  /** Hands replies to the in-process Triggers serving them (none: every reply is published). */
  fusion?: Fusion;
  /** Called whenever records became final (the lag may have shrunk). */
  onProgress?: () => void;
}

/**
 * What a consumer group delivers to: one Trigger's engine (connectors/knative/engine.ts), or the
 * in-process Triggers of a topic sharing one group (./shared.ts).
 */
export interface ConsumerTarget {
  readonly id: string;
  match(event: CloudEvent): boolean;
  deliver(event: CloudEvent): Promise<Outcome>;
  /** The wait before a kept record's round `round`. */
  pause(round: number): Promise<void>;
  /** Ends retry and backoff waits; deliveries then return `aborted`. */
  stop(): void;
}

const PAUSE_MIN_MS = 200;
/** Records of one key whose replies are published together, and the longest a run may take. */
const REPLY_RUN = 64;
const REPLY_RUN_MS = 20;
const NO_REPLIES: CloudEvent[] = [];
/** deliverRecord's answer for a record the engine kept. */
const KEPT = Symbol('kept');
const PAUSE_MAX_MS = 5000;

export class TriggerConsumer<T extends ConsumerTarget = ConsumerTarget> {
  readonly engine: T;
  private readonly options: TriggerConsumerOptions;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private consumer: Consumer | undefined;
  /** While start() waits: told of a group join (by any consumer of this trigger) and of a fetch. */
  private onJoined: (() => void) | undefined;
  private onFetched: (() => void) | undefined;
  /** Consumers created anew because kafkajs did not restart a crashed one. */
  replacements = 0;
  /** Rounds in a row a batch ended on a kept record (the engine's pause grows with it). */
  private keptRounds = 0;
  /** Per partition, the offset to commit next (one past the last final record). */
  private readonly toCommit = new Map<number, string>();
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  private lastCommitAt = 0;
  /** Per partition: the end of the log at the last fetch, and the next record not final yet. */
  private readonly logEnd = new Map<number, number>();
  private readonly nextFinal = new Map<number, number>();
  /** When records last became final (or the consumer started), and how many did since it started. */
  lastProgressAt = Date.now();
  finalCount = 0;

  constructor(engine: T, options: TriggerConsumerOptions) {
    this.engine = engine;
    this.options = options;
    this.logger = options.logger.child({ trigger: engine.id, group: options.groupId });
  }

  /** Joins the group and starts consuming; resolves once the group join completed (and, from the end, the first fetch). */
  async start(kafka: Kafka): Promise<void> {
    const o = this.options;
    const joined = new Promise<void>((resolve) => { this.onJoined = resolve; });
    // From the end: the position is only fixed by the first fetch after the join; until then a
    // record published would be skipped, so start() waits for that fetch too.
    const fetched = o.startFrom === 'latest' ? new Promise<void>((resolve) => { this.onFetched = resolve; }) : Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    try {
      if (o.startFrom === 'latest') await pinLatest(kafka, o.groupId, o.topic);
      await this.run(this.create(kafka));
      await Promise.race([
        joined.then(() => fetched),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new MooringError('MOORING_UNAVAILABLE',
            `trigger ${this.engine.id}: consumer group ${o.groupId} did not join within ${o.joinTimeoutMs} ms`)), o.joinTimeoutMs);
        }),
      ]);
    } catch (e) {
      await this.stop();
      throw isMooringError(e) ? e : new MooringError('MOORING_UNAVAILABLE', `trigger ${this.engine.id}: ${(e as Error).message}`, { cause: e });
    } finally {
      clearTimeout(timer);
      this.onJoined = undefined;
      this.onFetched = undefined;
    }
  }

  /**
   * A kafkajs consumer of the group, made the current one. A crash kafkajs does not restart from
   * (it emits CRASH with restart=false) has the current consumer replaced.
   */
  private create(kafka: Kafka): Consumer {
    const o = this.options;
    const consumer = kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      allowAutoTopicCreation: false,
      minBytes: o.fetchMinBytes ?? 1,
      maxWaitTimeInMs: o.fetchMaxWaitMs ?? 500,
      // Keep trying through a Kafka outage: a crashed consumer restarts from the committed offsets.
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000, restartOnFailure: async () => !this.abort.signal.aborted },
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      // A rebalance may move partitions: their lag is learnt again from the next fetches.
      this.logEnd.clear();
      this.nextFinal.clear();
      this.onJoined?.();
    });
    consumer.on(consumer.events.FETCH, () => this.onFetched?.());
    consumer.on(consumer.events.CRASH, (e) => {
      const restart = e.payload.restart;
      this.logger.warn({ err: e.payload.error?.message, errName: e.payload.error?.name, restart }, 'Kafka consumer crashed');
      // kafkajs restarts a consumer only after errors it deems retriable. Some it does not are
      // passing states of a restarting broker (KafkaJSGroupCoordinatorNotFound while the offsets
      // topic cannot be served, a lock timeout): left alone, the group would never consume again.
      if (!restart && !this.abort.signal.aborted && this.consumer === consumer) void this.replace(kafka, consumer);
    });
    this.consumer = consumer;
    return consumer;
  }

  /** Connects, subscribes and runs a consumer made by create(); disconnects it when that fails. */
  private async run(consumer: Consumer): Promise<void> {
    const o = this.options;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [o.topic], fromBeginning: o.startFrom === 'earliest' });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: o.concurrency,
        eachBatch: (payload) => this.eachBatch(payload),
      });
    } catch (e) {
      await consumer.disconnect().catch(() => undefined);
      throw e;
    }
  }

  /** Replaces a consumer kafkajs gave up on with a new one, retrying with backoff until one runs. */
  private async replace(kafka: Kafka, dead: Consumer): Promise<void> {
    await dead.disconnect().catch(() => undefined);
    let pause = PAUSE_MIN_MS;
    for (let attempt = 1; ; attempt++) {
      await this.options.sleep(pause, this.abort.signal);
      // Stopped, or replaced meanwhile by another crash's replacement.
      if (this.abort.signal.aborted || this.consumer !== dead) return;
      const next = this.create(kafka);
      try {
        await this.run(next);
        this.replacements++;
        this.logger.warn({ attempt }, 'Kafka consumer replaced after a crash kafkajs does not restart from');
        return;
      } catch (e) {
        this.logger.warn({ err: (e as Error).message, attempt }, 'replacing the crashed Kafka consumer failed; retrying');
        dead = next;
        pause = Math.min(pause * 2, PAUSE_MAX_MS);
      }
    }
  }

  /**
   * Records this Trigger has still to make final, as of the last fetch of each partition (the
   * log may have grown since): what the Kafka bus's backpressure bounds.
   */
  get lag(): number {
    let n = 0;
    for (const [partition, end] of this.logEnd) n += Math.max(0, end - (this.nextFinal.get(partition) ?? end));
    return n;
  }

  /** Stops retries, lets the delivery in flight finish, commits what is final, leaves the group. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.engine.stop();
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    // Offsets of batches already ended; a batch in flight commits its own as it ends.
    await this.flushCommits();
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect().catch((e: unknown) => {
      this.logger.warn({ err: (e as Error).message }, 'Kafka consumer did not disconnect cleanly');
    });
  }

  /**
   * Records the final offsets of a partition for the next commit. Commits are batched over the
   * consumer's partitions: one OffsetCommit every `commitIntervalMs` (each one is a write to
   * Kafka's offsets log), and at once when the batch ends on a stop or a rebalance.
   */
  private offerCommit(partition: number, lastFinal: string): void {
    this.toCommit.set(partition, (BigInt(lastFinal) + 1n).toString());
    if (this.commitTimer !== undefined) return;
    const wait = Math.max(0, this.lastCommitAt + this.options.commitIntervalMs - Date.now());
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      void this.flushCommits();
    }, wait);
  }

  /**
   * Commits the recorded offsets, in order with every earlier commit. `commit` defaults to the
   * consumer's (a no-op once kafkajs stops running); a batch ending on a stop passes its own.
   */
  private flushCommits(commit?: (partitions: { partition: number; offset: string }[]) => Promise<void>): Promise<void> {
    this.committing = this.committing.then(async () => {
      if (this.toCommit.size === 0) return;
      const partitions = [...this.toCommit].map(([partition, offset]) => ({ partition, offset }));
      this.toCommit.clear();
      this.lastCommitAt = Date.now();
      const topic = this.options.topic;
      const consumer = this.consumer;
      try {
        if (commit) await commit(partitions);
        else await consumer?.commitOffsets(partitions.map((p) => ({ topic, ...p })));
      } catch (e) {
        // A rebalance took the partition: its next owner delivers from the last commit again.
        this.logger.warn({ err: (e as Error).message, partitions }, 'offset commit failed');
      }
    });
    return this.committing;
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    const { topic, partition, messages } = batch;
    this.logEnd.set(partition, Number(batch.highWatermark));
    if (!this.nextFinal.has(partition) && messages.length > 0) this.nextFinal.set(partition, Number(messages[0]!.offset));
    const commitNow = (): Promise<void> => this.flushCommits(
      (partitions) => commitOffsetsIfNecessary({ topics: [{ topic, partitions }] }),
    );

    // Lanes: the batch's records per key, in offset order. Records without a key share one lane.
    const lanes = new Map<string, number[]>();
    for (let i = 0; i < messages.length; i++) {
      const key = messages[i]!.key?.toString('latin1') ?? '';
      const lane = lanes.get(key);
      if (lane) lane.push(i);
      else lanes.set(key, [i]);
    }
    const final = new Uint8Array(messages.length);
    let low = 0; // index of the first record whose outcome is not final yet
    let halted = false;
    let kept = false;
    const advance = (): void => {
      const before = low;
      while (low < messages.length && final[low] === 1) low++;
      if (low > before) {
        this.finalCount += low - before;
        const offset = messages[low - 1]!.offset;
        resolveOffset(offset);
        this.offerCommit(partition, offset);
        this.nextFinal.set(partition, Number(offset) + 1);
        this.lastProgressAt = Date.now();
        this.options.onProgress?.();
      }
    };
    // A lane goes in runs: a key's records are delivered one after another, then the replies of
    // the whole run are published in one acks=all request (one key, so one partition: in order,
    // all or nothing), and only then are the run's records final. One acknowledgement wait per
    // run instead of per record; a run ends after REPLY_RUN records or REPLY_RUN_MS.
    const runLane = async (lane: number[]): Promise<void> => {
      let next = 0;
      while (next < lane.length) {
        const started = Date.now();
        const replies: CloudEvent[] = [];
        const run: number[] = [];
        while (next < lane.length && run.length < REPLY_RUN && Date.now() - started <= REPLY_RUN_MS) {
          if (halted || !isRunning() || isStale() || this.abort.signal.aborted) break;
          const i = lane[next]!;
          const out = await this.deliverRecord(messages[i]!, partition);
          if (out === undefined || out === KEPT) {
            halted = true; // not final: nothing at or after it may be committed in this batch
            kept ||= out === KEPT;
            break;
          }
          for (const r of out) replies.push(r);
          run.push(i);
          next++;
        }
        if (run.length === 0) return;
        // A reply re-enters the broker before the offset of its cause is committed.
        if (replies.length > 0 && !(await this.publishReply(replies))) {
          halted = true;
          return;
        }
        for (const i of run) final[i] = 1;
        advance();
      }
    };
    const pending = [...lanes.values()];
    const worker = async (): Promise<void> => {
      for (let lane = pending.shift(); lane !== undefined; lane = pending.shift()) await runLane(lane);
    };
    // Deliveries can outlast the session (retries, backoff): keep the membership alive meanwhile.
    const beat = setInterval(() => { heartbeat().catch(() => undefined); }, this.options.heartbeatIntervalMs);
    try {
      await Promise.all(Array.from({ length: Math.min(this.options.keyConcurrency, pending.length) }, worker));
      // A kept record is fetched again from the low-water mark after the engine's pause.
      if (kept && !this.abort.signal.aborted) await this.engine.pause(++this.keptRounds);
      else if (!halted) this.keptRounds = 0;
    } finally {
      clearInterval(beat);
      // Stopping, or the partition is being taken away: commit what is final now, with this
      // batch's own commit (kafkajs' consumer no longer commits once it stops running).
      if (this.abort.signal.aborted || !isRunning() || isStale() || Date.now() - this.lastCommitAt >= this.options.commitIntervalMs) {
        await commitNow();
      }
    }
  }

  /**
   * Delivers one record: the replies to publish before its offset may be committed (none when it
   * needs no reply), KEPT when the engine kept it, or undefined when the trigger is stopping.
   */
  private async deliverRecord(message: KafkaMessage, partition: number): Promise<CloudEvent[] | typeof KEPT | undefined> {
    let event: CloudEvent;
    try {
      event = decodeKafka(message, this.options.typedExtensions);
    } catch (e) {
      // A record that is not a CloudEvent can never be delivered: skip it, loudly.
      this.logger.error({ err: (e as Error).message, partition, offset: message.offset }, 'skipping a record that is not a CloudEvent');
      return NO_REPLIES;
    }
    if (!this.engine.match(event)) return NO_REPLIES;
    const outcome = await this.engine.deliver(event);
    if (outcome.kind === 'kept') return KEPT;
    if (outcome.kind === 'aborted') return undefined;
    if (outcome.replies.length === 0) return NO_REPLIES;
    const fusion = this.options.fusion;
    if (!fusion) return [...outcome.replies];
    // Replies every matching Trigger serves in-process are delivered now; only the rest is published.
    const fused = await fusion.run(outcome.replies);
    if (fused.kind === 'kept') return KEPT;
    if (fused.kind === 'aborted') return undefined;
    return fused.publish;
  }

  /** A reply re-enters the broker before the offset of its cause is committed. */
  private async publishReply(events: CloudEvent[]): Promise<boolean> {
    let pause = PAUSE_MIN_MS;
    for (;;) {
      try {
        await this.options.publish(events);
        return true;
      } catch (e) {
        if (this.abort.signal.aborted) return false;
        this.logger.warn({ err: (e as Error).message }, 'publishing a reply failed; retrying');
        await this.options.sleep(pause, this.abort.signal);
        if (this.abort.signal.aborted) return false;
        pause = Math.min(pause * 2, PAUSE_MAX_MS);
      }
    }
  }
}

/**
 * A group without committed offsets gets the topic's end offsets committed before it joins, so
 * "latest" means the end at the moment the consumer was added, not whenever its first fetch runs
 * (an event published between the join and that fetch would be skipped).
 */
async function pinLatest(kafka: Kafka, groupId: string, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    if (committed !== undefined && committed.partitions.some((p) => p.offset !== '-1')) return;
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
