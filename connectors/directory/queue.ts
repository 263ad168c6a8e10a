// The in-memory CommandQueue (functions/ports/command-queue.ts): per target connection, oldest
// first, bounded; expiry is checked against the injected clock when a queue is touched.

import type { CloudEvent } from '../../events/cloudevent.ts';
import type { CommandQueue, QueueStats } from '../../functions/ports/command-queue.ts';
import { systemClock, type Clock } from '../../functions/ports/runtime.ts';

export interface MemoryQueueOptions {
  /** Commands kept per target connection (default 1000); more are refused. */
  maxPerTarget?: number;
  clock?: Clock;
}

interface Held {
  event: CloudEvent;
  expiresAt: number;
}

export class InMemoryCommandQueue implements CommandQueue {
  private readonly queues = new Map<string, Held[]>();
  private readonly max: number;
  private readonly clock: Clock;
  private readonly counters: QueueStats = { queued: 0, taken: 0, expired: 0, refused: 0 };

  constructor(options: MemoryQueueOptions = {}) {
    this.max = options.maxPerTarget ?? 1000;
    this.clock = options.clock ?? systemClock;
  }

  async put(application: string, target: string, event: CloudEvent, expiresAt: number): Promise<boolean> {
    const k = `${application}\u0000${target}`;
    const list = this.prune(k);
    if (list.length >= this.max) {
      this.counters.refused++;
      return false;
    }
    list.push({ event, expiresAt });
    this.queues.set(k, list);
    this.counters.queued++;
    return true;
  }

  async take(application: string, target: string): Promise<CloudEvent[]> {
    const k = `${application}\u0000${target}`;
    const list = this.prune(k);
    this.queues.delete(k);
    this.counters.queued -= list.length;
    this.counters.taken += list.length;
    return list.map((h) => h.event);
  }

  stats(): QueueStats {
    return { ...this.counters };
  }

  /** The target's unexpired commands; the expired ones are dropped and counted. */
  private prune(k: string): Held[] {
    const list = this.queues.get(k);
    if (list === undefined) return [];
    const now = this.clock.now();
    const live = list.filter((h) => h.expiresAt > now);
    const gone = list.length - live.length;
    if (gone > 0) {
      this.counters.expired += gone;
      this.counters.queued -= gone;
      if (live.length === 0) this.queues.delete(k);
      else this.queues.set(k, live);
    }
    return live;
  }
}
