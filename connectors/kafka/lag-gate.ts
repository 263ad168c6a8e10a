// Backpressure of the Kafka bus on its own consumers' lag. In single-host mode the Triggers that
// push to applications read the broker topic in the same process that writes it; when devices
// publish faster than those Triggers deliver, Kafka would take everything and the difference
// would pile up as a backlog that takes minutes to deliver. The gate holds unacknowledged
// publishes (MQTT QoS 0) instead while a Trigger's consumer is `maxLag` records or more behind
// and still making progress: a held publish holds its connection's input (the MQTT gateway stops
// reading a connection whose publishes are not settled, as with the in-memory bus), so a flood
// is slowed at its source. Acknowledged publishes (QoS 1, HTTP) are not held for lag: their
// acknowledgement is Kafka's, durable, and a backlog of them is what Kafka is for; they only
// queue behind publishes already held, so that each device's order holds.
// A consumer that made no progress for `stallMs` (its sink is down, its retries wait) does not
// hold anything: then Kafka keeps the events, durably, until the sink is back.

/** What the gate reads of a Trigger's consumer (connectors/kafka/consumer.ts). */
export interface LagSource {
  /** Records still to make final, as of the last fetch. */
  readonly lag: number;
  /** Records made final since the consumer started. */
  readonly finalCount: number;
  /** When records last became final (ms since the epoch). */
  readonly lastProgressAt: number;
}

const RECHECK_MS = 100;
/**
 * Held publishes let go per event-loop turn: letting thousands go at once would make one long
 * turn of ingest work while the consumers' deliveries (their HTTP answers) wait behind it.
 */
const RELEASE_PER_TURN = 64;

export class LagGate {
  /** Publishes held, in arrival order (later ones queue behind them: each key's order holds). */
  private readonly waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private open = false;
  private releasing: NodeJS.Immediate | undefined;
  /** Records the bus wrote to the topic its consumers read, and that count when each was first seen. */
  private writtenCount = 0;
  private readonly baseline = new WeakMap<LagSource, number>();

  constructor(
    private readonly sources: () => Iterable<LagSource>,
    private readonly maxLag: number,
    private readonly stallMs: number,
  ) {}

  /** Publishes held now. */
  get held(): number { return this.waiters.length; }

  /**
   * Undefined when a publish may go at once; else resolves when it may. `hold`: the publish may
   * be held for lag (unacknowledged); any publish queues behind those held already.
   */
  admit(hold = true): Promise<void> | undefined {
    if (this.waiters.length === 0 && (!hold || !this.behind())) return undefined;
    return new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      // A consumer may stall while publishes are held: look again now and then.
      this.timer ??= setInterval(() => this.release(), RECHECK_MS);
    });
  }

  /** A new consumer: what is written from now on counts towards its lag. */
  track(s: LagSource): void {
    this.baseline.set(s, this.writtenCount);
  }

  /** The bus wrote `n` records to the topic the consumers read. */
  wrote(n: number): void {
    this.writtenCount += n;
  }

  /**
   * A consumer's lag: what its last fetch saw, or what was written since it was first seen and
   * it has not made final yet, whichever is more. A consumer fetches again only after its
   * current batch, so under a flood its last fetch may be long ago; the bus's own count is not.
   */
  private lagOf(s: LagSource): number {
    let base = this.baseline.get(s);
    if (base === undefined) this.baseline.set(s, (base = this.writtenCount));
    return Math.max(s.lag, this.writtenCount - base - s.finalCount);
  }

  /** A consumer made progress: release the held publishes once no consumer is too far behind. */
  progress(): void {
    if (this.waiters.length > 0) this.release();
  }

  /** Lets every held publish go, and every later one (the bus is closing). */
  close(): void {
    this.open = true;
    this.release();
  }

  private behind(): boolean {
    if (this.maxLag <= 0 || this.open) return false;
    const now = Date.now();
    for (const s of this.sources()) {
      if (this.lagOf(s) >= this.maxLag && now - s.lastProgressAt < this.stallMs) return true;
    }
    return false;
  }

  private release(): void {
    if (this.releasing !== undefined || this.behind()) return;
    clearInterval(this.timer);
    this.timer = undefined;
    for (const resolve of this.waiters.splice(0, RELEASE_PER_TURN)) resolve();
    if (this.waiters.length === 0) return;
    this.releasing = setImmediate(() => {
      this.releasing = undefined;
      this.release();
      if (this.waiters.length > 0) this.timer ??= setInterval(() => this.release(), RECHECK_MS);
    });
  }
}
