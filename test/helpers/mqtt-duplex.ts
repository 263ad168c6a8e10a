// An in-memory duplex pair and a raw MQTT test client for protocol-edge tests: the gateway gets
// one end (like a socket), the test drives the other with mqtt-packet, no ports. Destroying one
// end ends and closes the other, as a TCP close would.

import { Duplex } from 'node:stream';
import { generate, parser, type Packet } from 'mqtt-packet';

export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (i: number): Duplex => new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      const peer = ends[1 - i]!;
      if (!peer.destroyed && !peer.readableEnded) peer.push(chunk);
      cb();
    },
    final(cb) {
      const peer = ends[1 - i]!;
      if (!peer.destroyed) peer.push(null);
      cb();
    },
    destroy(err, cb) {
      const peer = ends[1 - i]!;
      if (!peer.destroyed) {
        peer.push(null);
        setImmediate(() => peer.destroy());
      }
      cb(err);
    },
  });
  ends.push(make(0), make(1));
  return [ends[0]!, ends[1]!];
}

export class TestClient {
  readonly received: Packet[] = [];
  private waiters: Array<(p: Packet | undefined) => void> = [];
  closed = false;
  private closeWaiters: Array<() => void> = [];
  readonly protocolVersion: number;

  constructor(readonly stream: Duplex, protocolVersion = 4) {
    this.protocolVersion = protocolVersion;
    const p = parser({ protocolVersion });
    p.on('packet', (packet: Packet) => {
      const w = this.waiters.shift();
      if (w) w(packet);
      else this.received.push(packet);
    });
    p.on('error', () => { /* a test checks packets, not parse errors */ });
    stream.on('data', (b: Buffer) => p.parse(b));
    const onClosed = (): void => {
      if (this.closed) return;
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
      for (const w of this.closeWaiters.splice(0)) w();
    };
    stream.on('end', onClosed);
    stream.on('close', onClosed);
    stream.on('error', onClosed);
  }

  send(packet: Packet): void {
    this.stream.write(generate(packet, { protocolVersion: this.protocolVersion }));
  }

  raw(bytes: Uint8Array | number[]): void {
    this.stream.write(Buffer.from(bytes as Uint8Array));
  }

  /** The next packet from the gateway; undefined when the connection closed first. Bounded wait. */
  next(timeoutMs = 3000): Promise<Packet | undefined> {
    const queued = this.received.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`no packet within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (p: Packet | undefined): void => { clearTimeout(t); resolve(p); };
      this.waiters.push(done);
    });
  }

  /** Resolves when the gateway closed the connection; rejects after `timeoutMs`. */
  whenClosed(timeoutMs = 3000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      this.closeWaiters.push(() => { clearTimeout(t); resolve(); });
    });
  }

  /** True if nothing arrives within `ms` (for "dropped" checks; a bounded wait, not a timing). */
  async silentFor(ms: number): Promise<boolean> {
    try {
      const p = await this.next(ms);
      if (p) this.received.unshift(p);
      return p === undefined ? !this.closed : false;
    } catch {
      return true;
    }
  }

  end(): void { this.stream.end(); }
  destroy(): void { this.stream.destroy(); }
}
