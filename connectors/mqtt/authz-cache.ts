// Publish-as decisions of one session (may this gateway act for device X?), positive and negative,
// as Drogue cached them: bounded (LRU), with a lifetime, and dropped when the registry changes.
// The registry-change signal is one gateway-wide epoch counter, so a session needs no listener.
// The HTTP endpoint keeps one endpoint-wide cache of the same decisions (key: app, sender, device).

export interface Decision {
  readonly ok: boolean;
  readonly message: string;
  /** Clock time after which the decision is asked again. */
  readonly expires: number;
  readonly epoch: number;
}

export class AuthzCache<D extends Decision = Decision> {
  private readonly map = new Map<string, D>();
  constructor(private readonly capacity: number) {}

  /** The cached decision, or undefined when absent, expired or from before a registry change. */
  get(device: string, now: number, epoch: number): D | undefined {
    const d = this.map.get(device);
    if (d === undefined) return undefined;
    if (d.expires <= now || d.epoch !== epoch) {
      this.map.delete(device);
      return undefined;
    }
    // Most recently used goes last: Map keeps insertion order.
    this.map.delete(device);
    this.map.set(device, d);
    return d;
  }

  set(device: string, decision: D): void {
    this.map.delete(device);
    if (this.map.size >= this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(device, decision);
  }

  get size(): number { return this.map.size; }
}
