// One device connection: reads frames from any Duplex, hands decoded packets to the dispatcher,
// writes answers (acknowledgements batched with cork/uncork), and ends the connection the way the
// protocol version allows. One object with methods and no per-connection closures: an idle session
// costs a few hundred bytes on top of its socket. Decisions live in handlers/.

import type { Duplex } from 'node:stream';
import type { IConnectPacket, Packet, UserProperties } from 'mqtt-packet';
import type { MqttDialect, Device } from '../../functions/ports/registry.ts';
import { isMooringError } from '../../events/errors.ts';
import { ACK, PacketType, decode, encode, encodeAck, frameLength } from './codec.ts';
import type { ConnectionInfo, GatewayCore } from './core.ts';
import { AuthzCache, type Decision } from './authz-cache.ts';
import { connectionEvent, type SessionIdentity } from './events.ts';
import type { CommandSubscription } from './commands.ts';
import { RC } from './reason-codes.ts';
import { dispatch } from './handlers/index.ts';
import { publishWill } from './handlers/publish.ts';
import { rfc3339 } from '../../events/time.ts';

export const NEW = 0;
export const CONNECTING = 1;
export const CONNECTED = 2;
export const CLOSED = 3;

/** A QoS 1/2 publish waiting for the bus; acknowledgements leave in receive order [MQTT-4.6.0-2]. */
interface PendingAck {
  readonly id: number;
  readonly qos: number;
  /** -1 while the bus has not answered; then the reason code to send. */
  rc: number;
}

const kSession = Symbol('mooring.mqtt.session');
type StreamWithSession = Duplex & { [kSession]?: Session };

// Stream listeners shared by every session (`this` is the stream): no closures per connection.
function onData(this: StreamWithSession, chunk: Buffer | string): void {
  this[kSession]?.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
}
function onClose(this: StreamWithSession): void {
  this[kSession]?.finish('connection closed', true);
}
function onError(this: StreamWithSession, err: Error): void {
  this[kSession]?.onStreamError(err);
}
function onEnd(this: StreamWithSession): void {
  // The client half-closed: treat as a close (Duplex pairs and ws streams may not emit 'close' at once).
  this[kSession]?.finish('client ended the connection', true);
  this.destroy();
}
function uncork(s: Session): void {
  s.corked = false;
  s.stream.uncork();
}

export class Session {
  state = NEW;
  /** 4 (3.1.1) or 5, known after CONNECT. */
  version = 4;
  who: SessionIdentity | undefined;
  device: Device | undefined;
  dialect: MqttDialect | undefined;
  will: IConnectPacket['will'] | undefined;
  /** Ticks without a packet before the keep-alive expires (1.5 × Keep Alive); 0 = none. */
  keepAliveTicks = 0;
  lastTick: number;
  readonly createdTick: number;
  /** Client limits (v5 CONNECT properties). 0 = no limit. */
  clientMaxPacket = 0;
  /** Bus publishes of this connection not settled yet. */
  inFlight = 0;
  corked = false;
  /** Input is held while > 0 (CONNECT or an authorization running, bus in-flight limit reached). */
  private blocked = 0;
  private inFlightBlocked = false;
  /** Unprocessed input: a header fragment, or bytes held while blocked. */
  private pending: Buffer | undefined;
  /** A frame whose size is known being filled from successive chunks. */
  private partial: Buffer | undefined;
  private fill = 0;
  private acks: PendingAck[] | undefined;
  /** QoS 2 packet identifiers acknowledged with PUBREC, waiting for PUBREL. */
  awaitingRel: Set<number> | undefined;
  /** Client → server topic aliases (v5). */
  aliases: Map<number, string> | undefined;
  private authz: AuthzCache | undefined;
  /** Command subscriptions by topic filter. */
  subs: Map<string, CommandSubscription> | undefined;
  /** Set by DISCONNECT 0x00 (and any v3.1.1 DISCONNECT): the Will is deleted [MQTT-3.1.2-10]. */
  private finished: Promise<void> | undefined;
  /** True once the connected event went to the bus (a disconnected event then follows). */
  announced = false;

  constructor(readonly gw: GatewayCore, readonly stream: Duplex, public info: ConnectionInfo | undefined) {
    this.lastTick = gw.tick;
    this.createdTick = gw.tick;
    (stream as StreamWithSession)[kSession] = this;
    stream.on('data', onData);
    stream.on('close', onClose);
    stream.on('end', onEnd);
    stream.on('error', onError);
  }

  get v5(): boolean { return this.version === 5; }

  /** The peer's address for logs: from the listener's info, else the socket's own. */
  get remoteAddress(): string | undefined {
    return this.info?.remoteAddress ?? (this.stream as { remoteAddress?: string }).remoteAddress;
  }

  /** True while input is held (the keep-alive does not run out meanwhile). */
  get isBlocked(): boolean { return this.blocked > 0; }

  // ---- input --------------------------------------------------------------------------------

  feed(chunk: Buffer): void {
    if (this.state === CLOSED) return;
    this.lastTick = this.gw.tick;
    if (this.partial !== undefined) {
      const f = this.partial;
      const need = f.length - this.fill;
      const n = chunk.length < need ? chunk.length : need;
      chunk.copy(f, this.fill, 0, n);
      this.fill += n;
      if (this.fill < f.length) return;
      this.partial = undefined;
      this.fill = 0;
      chunk = chunk.subarray(n);
      this.onFrame(f);
      if (chunk.length === 0) return;
    }
    if (this.pending !== undefined) {
      chunk = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    this.scan(chunk);
  }

  /** Splits `buf` into frames, checking each frame's size from its fixed header first. */
  private scan(buf: Buffer): void {
    let off = 0;
    const max = this.gw.opts.maxPacketSize;
    while (off < buf.length && this.blocked === 0 && this.state !== CLOSED) {
      const avail = buf.length - off;
      if (avail < 2) break;
      const total = frameLength(buf, off);
      if (total === 0) break;
      if (total < 0) return this.malformed('Remaining Length longer than four bytes');
      // Maximum Packet Size is the whole packet (§3.1.2.11.4); refused before its body is buffered.
      if (total > max) return this.tooLarge(total);
      if (avail < total) {
        const f = Buffer.allocUnsafe(total);
        buf.copy(f, 0, off);
        this.partial = f;
        this.fill = avail;
        return;
      }
      const frame = buf.subarray(off, off + total);
      off += total;
      this.onFrame(frame);
    }
    if (off < buf.length && this.state !== CLOSED) {
      // A header fragment is copied (a few bytes) so an idle connection does not pin a read chunk.
      this.pending = this.blocked === 0 ? Buffer.from(buf.subarray(off)) : buf.subarray(off);
    }
  }

  private onFrame(frame: Buffer): void {
    // [MQTT-3.1.0-1] checked before decoding: nothing but a CONNECT is parsed from a new connection.
    if (this.state === NEW && frame[0]! >> 4 !== PacketType.connect) {
      return this.abort('the first packet was not CONNECT [MQTT-3.1.0-1]');
    }
    const packet = decode(frame, this.version);
    if (packet instanceof Error) return this.malformed(packet.message);
    let r: void | Promise<void>;
    try {
      r = dispatch(this, packet);
    } catch (err) {
      return this.internalError(err);
    }
    if (r !== undefined) {
      this.block();
      r.then(() => this.unblock(), (err: unknown) => { this.unblock(); this.internalError(err); });
    }
  }

  block(): void {
    if (this.blocked++ === 0) this.stream.pause();
  }

  unblock(): void {
    if (--this.blocked > 0 || this.state === CLOSED) return;
    const p = this.pending;
    this.pending = undefined;
    if (p !== undefined) this.scan(p);
    if (this.blocked === 0 && this.state !== CLOSED) this.stream.resume();
  }

  // ---- output -------------------------------------------------------------------------------

  send(buf: Buffer): void {
    if (this.state === CLOSED || this.stream.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(uncork, this);
    }
    this.stream.write(buf);
  }

  sendPacket(packet: Packet): void {
    this.send(encode(packet, this.version));
  }

  /** Bytes written but not yet flushed to the network. */
  get backlog(): number { return this.stream.writableLength; }

  // ---- QoS 1 / 2 acknowledgements -----------------------------------------------------------

  /** QoS 1 and 2 publishes received and not yet answered with PUBACK / PUBCOMP (v5 Receive Maximum). */
  unacknowledged(): number {
    return (this.acks?.length ?? 0) + (this.awaitingRel?.size ?? 0);
  }

  /** Reserves the acknowledgement slot of a QoS 1/2 publish, in receive order. */
  expectAck(id: number, qos: number): PendingAck {
    const a: PendingAck = { id, qos, rc: -1 };
    (this.acks ??= []).push(a);
    return a;
  }

  /** Settles an acknowledgement; sends every settled one at the head of the queue. */
  settleAck(a: PendingAck, rc: number): void {
    a.rc = rc;
    const q = this.acks;
    if (q === undefined) return;
    while (q.length > 0 && q[0]!.rc >= 0) {
      const head = q.shift()!;
      if (head.rc >= 0x80 && !this.v5) {
        // [MQTT-3.3.5-2] a 3.1.1 server that does not take a PUBLISH must acknowledge it anyway
        // or close the connection: Mooring never acknowledges what it did not take.
        this.terminate(`publish refused (0x${head.rc.toString(16)}); MQTT 3.1.1 cannot say so [MQTT-3.3.5-2]`);
        return;
      }
      if (head.qos === 2) {
        if (head.rc < 0x80) (this.awaitingRel ??= new Set()).add(head.id);
        this.send(encodeAck(ACK.pubrec, head.id, head.rc, this.v5));
      } else {
        this.send(encodeAck(ACK.puback, head.id, head.rc, this.v5));
      }
    }
  }

  /** True while a QoS 2 publish with this identifier is waiting for the bus or for PUBREL. */
  qos2InProgress(id: number): boolean {
    if (this.awaitingRel?.has(id) === true) return true;
    const q = this.acks;
    if (q !== undefined) for (const a of q) if (a.qos === 2 && a.id === id) return true;
    return false;
  }

  // ---- bus publishes ------------------------------------------------------------------------

  /** Counts a bus publish; stops reading when the per-connection limit is reached. */
  busStarted(): void {
    if (++this.inFlight >= this.gw.opts.maxInFlight && !this.inFlightBlocked) {
      this.inFlightBlocked = true;
      this.block();
    }
  }

  busSettled(): void {
    this.inFlight--;
    if (this.inFlightBlocked && this.inFlight < this.gw.opts.maxInFlight) {
      this.inFlightBlocked = false;
      this.unblock();
    }
  }

  // ---- publish-as decisions -----------------------------------------------------------------

  cachedDecision(device: string): Decision | undefined {
    return this.authz?.get(device, this.gw.opts.clock.now(), this.gw.epoch);
  }

  /** Asks authz whether this device may act for `device`; caches the answer either way. */
  async decide(device: string): Promise<Decision> {
    const { opts } = this.gw;
    const epoch = this.gw.epoch;
    const who = this.who!;
    const out = await opts.authorizeAs({ application: who.application, sender: who.device, device }, opts.registry);
    if (out.ok) this.gw.rememberDevice(out.device);
    const decision: Decision = { ok: out.ok, message: out.ok ? '' : out.message, expires: opts.clock.now() + opts.authzCacheTtlMs, epoch };
    (this.authz ??= new AuthzCache(opts.authzCacheSize)).set(device, decision);
    return decision;
  }

  // ---- ending -------------------------------------------------------------------------------

  /** v5: DISCONNECT with a reason code, then close; v3.1.1: close (it has no server DISCONNECT). */
  disconnect(rc: number, reason: string): void {
    if (this.state === CLOSED) return;
    if (this.v5 && this.state === CONNECTED) {
      const packet: Packet = { cmd: 'disconnect', reasonCode: rc };
      this.send(encode(packet, 5));
    }
    this.terminate(reason);
  }

  /** A protocol violation: v5 DISCONNECT 0x82 (§4.13), v3.1.1 close [MQTT-4.8.0-1]. */
  protocolError(reason: string): void {
    this.gw.stats.protocolErrors++;
    this.disconnect(RC.protocolError, reason);
  }

  malformed(reason: string): void {
    this.gw.stats.protocolErrors++;
    this.disconnect(RC.malformed, `malformed packet: ${reason}`);
  }

  private tooLarge(size: number): void {
    this.gw.stats.protocolErrors++;
    this.disconnect(RC.packetTooLarge, `packet of ${size} bytes exceeds the maximum of ${this.gw.opts.maxPacketSize}`);
  }

  /** Closes without a word (before CONNECT, or when the protocol gives no way to answer). */
  abort(reason: string): void {
    this.gw.stats.protocolErrors++;
    this.terminate(reason);
  }

  private internalError(err: unknown): void {
    this.gw.opts.logger.error({ err, client: this.remoteAddress, device: this.who?.device }, 'mqtt session failed');
    this.disconnect(RC.unspecified, 'internal error');
  }

  onStreamError(err: Error): void {
    this.gw.opts.logger.debug({ err: err.message, device: this.who?.device }, 'mqtt connection error');
    this.finish(`connection error: ${err.message}`, true);
  }

  /**
   * Ends the session now and closes the stream after pending writes (CONNACK refusal, DISCONNECT).
   * The Will and the disconnected event are published unless a normal DISCONNECT deleted the Will.
   */
  terminate(reason: string): void {
    if (this.state === CLOSED) return;
    void this.finish(reason, true);
    this.endStream();
  }

  /** Flushes what is written (a CONNACK, a DISCONNECT), then closes; bounded if the peer stalls. */
  private endStream(): void {
    const s = this.stream;
    if (this.corked) { this.corked = false; s.uncork(); }
    if (s.destroyed) return;
    if (s.writableLength === 0 || s.writableEnded) {
      s.destroy();
      return;
    }
    s.end(() => destroyStream(s));
    setTimeout(destroyStream, 1000, s).unref();
  }

  /** The client sent DISCONNECT: normal (Will deleted) or v5 0x04 (Will published). */
  clientDisconnected(withWill: boolean): void {
    if (!withWill) this.will = undefined;
    void this.finish('client disconnected', true);
    this.endStream();
  }

  /** Another connection of the same device took over (v5 DISCONNECT 0x8E [MQTT-3.1.4-3]). */
  takenOver(): Promise<void> {
    this.gw.stats.takeovers++;
    if (this.v5 && this.state === CONNECTED) this.send(encode({ cmd: 'disconnect', reasonCode: RC.sessionTakenOver }, 5));
    const done = this.finish('taken over by a new connection', true);
    this.endStream();
    return done;
  }

  /**
   * Idempotent end of the session: forgets it, publishes the Will (a device event on its topic) and
   * then the disconnected event, in that order on the device's partition. Resolves once both were
   * handed to the bus, so a taking-over connection announces itself after them.
   */
  finish(reason: string, publishWillToo: boolean): Promise<void> {
    if (this.finished !== undefined) return this.finished;
    const wasConnected = this.state === CONNECTED;
    this.state = CLOSED;
    this.pending = undefined;
    this.partial = undefined;
    this.gw.unregister(this);
    this.gw.opts.logger.debug({ device: this.who?.device, application: this.who?.application, reason }, 'mqtt session ended');
    const will = publishWillToo && wasConnected ? this.will : undefined;
    this.will = undefined;
    this.info = undefined;
    if (!this.announced) return (this.finished = Promise.resolve());
    this.finished = (async () => {
      if (will !== undefined) {
        try { await publishWill(this, will); } catch (err) { this.logBusError(err, 'will'); }
      }
      this.publishConnection(false);
    })();
    return this.finished;
  }

  /** Publishes `io.drogue.connection.v1`; connection events are not acknowledged to anyone. */
  publishConnection(connected: boolean): void {
    const { opts } = this.gw;
    if (connected) this.announced = true;
    opts.bus.publish(connectionEvent(opts.newId(), rfc3339(opts.clock.now()), this.who!, opts.instance, connected))
      .catch((err: unknown) => this.logBusError(err, 'connection event'));
  }

  logBusError(err: unknown, what: string): void {
    const level = isMooringError(err, 'MOORING_BUS_FULL') ? 'warn' : 'error';
    this.gw.opts.logger[level]({ err: err instanceof Error ? err.message : String(err), device: this.who?.device, what }, 'bus refused an event');
  }

  // ---- commands -----------------------------------------------------------------------------

  /** Sends a command as a QoS 0 PUBLISH; false when the client cannot take it now. */
  deliver(topic: string, payload: Uint8Array, contentType: string | undefined, userProperties: UserProperties | undefined): boolean {
    if (this.state !== CONNECTED) return false;
    if (this.backlog > this.gw.opts.maxWriteBuffer) return false;
    const packet: Packet = { cmd: 'publish', topic, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), qos: 0, dup: false, retain: false };
    if (this.v5 && (contentType !== undefined || userProperties !== undefined)) {
      packet.properties = {};
      if (contentType !== undefined) packet.properties.contentType = contentType;
      if (userProperties !== undefined) packet.properties.userProperties = userProperties;
    }
    const buf = encode(packet, this.version);
    // [MQTT-3.1.2-24] never send a packet larger than the client's Maximum Packet Size; [MQTT-3.1.2-25] discard it.
    if (this.clientMaxPacket > 0 && buf.length > this.clientMaxPacket) return false;
    this.send(buf);
    return true;
  }
}

function destroyStream(s: Duplex): void {
  if (!s.destroyed) s.destroy();
}
