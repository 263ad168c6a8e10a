// One device connection: reads frames from any Duplex, hands decoded packets to the dispatcher,
// writes answers (acknowledgements batched with cork/uncork), and ends in one place, `end`, the
// way ending.ts says for each reason. One object with methods and no per-connection closures: an
// idle session costs a few hundred bytes on top of its socket. Decisions live in handlers/, which
// see the session only as a SessionContext (context.ts).

import type { Duplex } from 'node:stream';
import type { Packet, UserProperties } from 'mqtt-packet';
import type { MqttDialect } from '../../functions/ports/registry.ts';
import type { QuotaTicket } from '../quotas/limiter.ts';
import { isMooringError } from '../../events/errors.ts';
import { rfc3339 } from '../../events/time.ts';
import { PacketType, decode, encode, frameLength } from './codec.ts';
import type { ConnectionInfo, TlsInfo } from './core.ts';
import type { Establishment, GatewayCore, SessionContext, Will } from './context.ts';
import { AckQueue, type AckSink } from './ack-queue.ts';
import { AuthzCache, type Decision } from './authz-cache.ts';
import { connectionEvent, type SessionIdentity } from './events.ts';
import type { CommandSubscription } from './commands.ts';
import { End, NO_PACKET, planEnd, type EndReason } from './ending.ts';
import { CLOSED, CONNECTED, CONNECTING, NEW, type SessionState } from './state.ts';
import { dispatch } from './handlers/index.ts';
import { packetViolation } from './validate.ts';
import { publishWill } from './handlers/publish.ts';

const kSession = Symbol('mooring.mqtt.session');
type StreamWithSession = Duplex & { [kSession]?: Session };

// Stream listeners shared by every session (`this` is the stream): no closures per connection.
function onData(this: StreamWithSession, chunk: Buffer | string): void {
  this[kSession]?.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
}
function onClose(this: StreamWithSession): void {
  void this[kSession]?.end(End.connectionLost, 'connection closed');
}
function onError(this: StreamWithSession, err: Error): void {
  const s = this[kSession];
  if (s === undefined) return;
  s.gw.opts.logger.debug({ err: err.message, device: s.who?.device }, 'mqtt connection error');
  void s.end(End.connectionLost, `connection error: ${err.message}`);
}
function onEnd(this: StreamWithSession): void {
  // The client half-closed: treat as a close (Duplex pairs and ws streams may not emit 'close' at once).
  void this[kSession]?.end(End.connectionLost, 'client ended the connection');
  this.destroy();
}
function uncork(s: Session): void {
  s.corked = false;
  s.stream.uncork();
}

export class Session implements SessionContext, AckSink {
  state: SessionState = NEW;
  /** 4 (3.1.1) or 5, known after CONNECT. */
  version = 4;
  who: SessionIdentity | undefined;
  dialect: MqttDialect | undefined;
  private will: Will | undefined;
  /** Ticks without a packet before the keep-alive expires (1.5 × Keep Alive); 0 = none. */
  keepAliveTicks = 0;
  lastTick: number;
  readonly createdTick: number;
  /** Client limits (v5 CONNECT properties). 0 = no limit. */
  private clientMaxPacket = 0;
  /** Bus publishes of this connection not settled yet. */
  private inFlight = 0;
  corked = false;
  /** Input is held while > 0 (CONNECT or an authorization running, bus in-flight limit reached). */
  private blocked = 0;
  private inFlightBlocked = false;
  /** Unprocessed input: a header fragment, or bytes held while blocked. */
  private pending: Buffer | undefined;
  /** A frame whose size is known being filled from successive chunks. */
  private partial: Buffer | undefined;
  private fill = 0;
  private ackQueue: AckQueue | undefined;
  /** Client → server topic aliases (v5). */
  private aliases: Map<number, string> | undefined;
  private authz: AuthzCache | undefined;
  /** Command subscriptions by topic filter. */
  subs: Map<string, CommandSubscription> | undefined;
  /** Set by `end`: resolves once the Will and the disconnected event were handed to the bus. */
  private finished: Promise<void> | undefined;
  /** True once the connected event went to the bus (a disconnected event then follows). */
  private announced = false;
  presenceToken: string | undefined = undefined;
  quota: QuotaTicket | undefined = undefined;
  quotaRefusals = 0;
  quotaSecond = 0;

  constructor(readonly gw: GatewayCore, readonly stream: Duplex, private info: ConnectionInfo | undefined) {
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

  get tls(): TlsInfo | undefined { return this.info?.tls; }

  /** True while input is held (the keep-alive does not run out meanwhile). */
  get isBlocked(): boolean { return this.blocked > 0; }

  get acks(): AckQueue { return (this.ackQueue ??= new AckQueue(this)); }

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
      if (total < 0) return void this.end(End.malformed, 'malformed packet: Remaining Length longer than four bytes');
      // Maximum Packet Size is the whole packet (§3.1.2.11.4); refused before its body is buffered.
      if (total > max) return void this.end(End.packetTooLarge, `packet of ${total} bytes exceeds the maximum of ${max}`);
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
      return void this.end(End.aborted, 'the first packet was not CONNECT [MQTT-3.1.0-1]');
    }
    const packet = decode(frame, this.version);
    if (packet instanceof Error) return void this.end(End.malformed, `malformed packet: ${packet.message}`);
    // The MUSTs mqtt-packet does not check (validate.ts), before any dispatcher sees the packet:
    // the device gateway's and the MQTT integration's alike.
    const bad = packetViolation(packet, packet.cmd === 'connect' ? packet.protocolVersion === 5 : this.v5);
    if (bad !== undefined) return void this.end(bad.end, bad.detail);
    let r: void | Promise<void>;
    try {
      r = (this.gw.dispatch ?? dispatch)(this, packet);
    } catch (err) {
      return this.internalError(err);
    }
    if (r !== undefined) {
      this.block();
      r.then(() => this.unblock(), (err: unknown) => { this.unblock(); this.internalError(err); });
    }
  }

  private block(): void {
    if (this.blocked++ === 0) this.stream.pause();
  }

  private unblock(): void {
    if (--this.blocked > 0 || this.state === CLOSED) return;
    const p = this.pending;
    this.pending = undefined;
    if (p !== undefined) this.scan(p);
    // scan() may have ended the session (the compiler cannot see that through the call).
    if (this.blocked === 0 && (this.state as SessionState) !== CLOSED) this.stream.resume();
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

  // ---- CONNECT ------------------------------------------------------------------------------

  beginConnect(version: 4 | 5): void {
    this.state = CONNECTING;
    this.version = version;
  }

  establish(e: Establishment): void {
    this.who = e.who;
    this.dialect = e.dialect;
    // v5 [MQTT-3.1.2-22] / 3.1.1 [MQTT-3.1.2-24]: the Server MUST disconnect a client that sends
    // nothing within one and a half times the Keep Alive.
    this.keepAliveTicks = e.keepalive > 0 ? Math.ceil((e.keepalive * 1500) / this.gw.opts.timerResolutionMs) : 0;
    this.will = e.will;
    this.clientMaxPacket = e.clientMaxPacket;
    this.state = CONNECTED;
    // The TLS facts served authentication; only the address is kept for logs.
    this.info = this.info?.remoteAddress !== undefined ? { remoteAddress: this.info.remoteAddress } : undefined;
    this.gw.register(this);
  }

  announceConnected(): void {
    this.announced = true;
    void this.publishConnection(true);
  }

  // ---- per-session tables -------------------------------------------------------------------

  setTopicAlias(alias: number, topic: string): void {
    (this.aliases ??= new Map()).set(alias, topic);
  }

  topicAlias(alias: number): string | undefined {
    return this.aliases?.get(alias);
  }

  addSubscription(filter: string, sub: CommandSubscription): void {
    (this.subs ??= new Map()).set(filter, sub);
  }

  removeSubscription(filter: string): CommandSubscription | undefined {
    const sub = this.subs?.get(filter);
    if (sub !== undefined) this.subs!.delete(filter);
    return sub;
  }

  // ---- bus publishes ------------------------------------------------------------------------

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

  logBusError(err: unknown, what: string): void {
    const level = isMooringError(err, 'MOORING_BUS_FULL') ? 'warn' : 'error';
    this.gw.opts.logger[level]({ err: err instanceof Error ? err.message : String(err), device: this.who?.device, what }, 'bus refused an event');
  }

  // ---- publish-as decisions -----------------------------------------------------------------

  cachedDecision(device: string): Decision | undefined {
    return this.authz?.get(device, this.gw.opts.clock.now(), this.gw.epoch);
  }

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

  /**
   * The one way a session ends; idempotent. Sends the v5 DISCONNECT the reason calls for, forgets
   * the session, flushes and closes the stream, then publishes the Will (a device event on its
   * topic) and the disconnected event, in that order on the device's partition. Resolves once both
   * were handed to the bus, so a taking-over connection announces itself after them.
   */
  end(reason: EndReason, detail: string = reason.name): Promise<void> {
    if (this.finished !== undefined) return this.finished;
    const plan = planEnd(reason, { v5: this.v5, connected: this.state === CONNECTED, hasWill: this.will !== undefined, announced: this.announced });
    if (reason.protocolError) this.gw.stats.protocolErrors++;
    if (plan.disconnect !== NO_PACKET) this.send(encode({ cmd: 'disconnect', reasonCode: plan.disconnect }, 5));
    const will = plan.publishWill ? this.will : undefined;
    this.state = CLOSED;
    this.will = undefined;
    this.pending = undefined;
    this.partial = undefined;
    this.gw.unregister(this);
    this.gw.opts.logger.debug({ device: this.who?.device, application: this.who?.application, reason: detail }, 'mqtt session ended');
    this.info = undefined;
    this.endStream();
    this.finished = plan.disconnectedEvent ? this.farewell(will) : Promise.resolve();
    this.gw.ended(this, this.finished);
    return this.finished;
  }

  /** [MQTT-3.3.5-2] via the ack queue: a 3.1.1 client cannot be told a publish was refused. */
  refusedWithoutWords(rc: number): void {
    void this.end(End.publishRefused, `publish refused (0x${rc.toString(16)}); MQTT 3.1.1 cannot say so [MQTT-3.3.5-2]`);
  }

  private internalError(err: unknown): void {
    this.gw.opts.logger.error({ err, client: this.remoteAddress, device: this.who?.device }, 'mqtt session failed');
    void this.end(End.internalError, 'internal error');
  }

  /** The Will (if any), then the disconnected event; without a Will no async frame of its own. */
  private farewell(will: Will | undefined): Promise<void> {
    return will === undefined ? this.publishConnection(false) : this.willThenDisconnected(will);
  }

  private async willThenDisconnected(will: Will): Promise<void> {
    try { await publishWill(this, will); } catch (err) { this.logBusError(err, 'will'); }
    await this.publishConnection(false);
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

  /** Publishes `io.drogue.connection.v1`; connection events are not acknowledged to anyone. */
  private publishConnection(connected: boolean): Promise<void> {
    const { opts } = this.gw;
    const event = connectionEvent(opts.newId(), rfc3339(opts.clock.now()), this.who!, opts.instance, connected, opts.bus);
    return opts.bus.publish(event)
      .catch((err: unknown) => this.logBusError(err, 'connection event'));
  }

  // ---- commands -----------------------------------------------------------------------------

  /** Sends a command as a QoS 0 PUBLISH; false when the client cannot take it now. */
  deliver(
    topic: string, payload: Uint8Array, contentType: string | undefined, userProperties: UserProperties | undefined,
    response?: { topic: string; correlation: Buffer },
  ): boolean {
    if (this.state !== CONNECTED) return false;
    if (this.backlog > this.gw.opts.maxWriteBuffer) return false;
    const packet: Packet = { cmd: 'publish', topic, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), qos: 0, dup: false, retain: false };
    if (this.v5 && (contentType !== undefined || userProperties !== undefined)) {
      packet.properties = {};
      if (contentType !== undefined) packet.properties.contentType = contentType;
      if (userProperties !== undefined) packet.properties.userProperties = userProperties;
    }
    if (this.v5 && response !== undefined) {
      packet.properties = { ...packet.properties, responseTopic: response.topic, correlationData: response.correlation };
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
