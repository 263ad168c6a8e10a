// A tiny EventBus for the MQTT gateway's tests: records every published event, can refuse
// (bus full) or hold publishes until released, to test acknowledgements and backpressure.

import type { CloudEvent } from '../../events/cloudevent.ts';
import { MooringError } from '../../events/errors.ts';
import type { BusCapabilities, DeliveryStats, EventBus } from '../../functions/ports/bus.ts';

export class RecordingBus implements EventBus {
  readonly capabilities: BusCapabilities = { kind: 'memory' };
  readonly events: CloudEvent[] = [];
  /** 'accept' (default), 'full' (MOORING_BUS_FULL), 'fail' (MOORING_UNAVAILABLE), 'hold' (until release). */
  mode: 'accept' | 'full' | 'fail' | 'hold' = 'accept';
  private held: Array<() => void> = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  stats(): DeliveryStats { return { deadLettered: 0, deadLetterFailures: 0, dropped: 0, fused: 0, retries: 0, remoteDeliveries: {} }; }

  publish(events: CloudEvent | CloudEvent[]): Promise<void> {
    const list = Array.isArray(events) ? events : [events];
    if (this.mode === 'full') return Promise.reject(new MooringError('MOORING_BUS_FULL', 'bus full'));
    if (this.mode === 'fail') return Promise.reject(new MooringError('MOORING_UNAVAILABLE', 'bus down'));
    if (this.mode === 'hold') {
      return new Promise((resolve) => this.held.push(() => { this.record(list); resolve(); }));
    }
    this.record(list);
    return Promise.resolve();
  }

  private record(list: CloudEvent[]): void {
    this.events.push(...list);
    this.waiters = this.waiters.filter((w) => {
      if (this.events.length >= w.n) { w.resolve(); return false; }
      return true;
    });
  }

  get heldCount(): number { return this.held.length; }

  /** Accepts every held publish (in order) and goes back to accepting. */
  release(): void {
    this.mode = 'accept';
    for (const r of this.held.splice(0)) r();
  }

  /** Resolves once `n` events were recorded; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs = 3000): Promise<void> {
    if (this.events.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${this.events.length} of ${n} events within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ n, resolve: () => { clearTimeout(t); resolve(); } });
    });
  }

  ofType(type: string): CloudEvent[] { return this.events.filter((e) => e.type === type); }

  async addTrigger(): Promise<void> {}
  async removeTrigger(): Promise<void> {}
  async close(): Promise<void> {}
}
