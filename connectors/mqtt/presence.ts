// Presence across instances: the gateway's side of the ConnectionDirectory port. A CONNECT that
// was accepted claims the device under this instance and a per-connection token; a device held by
// another live instance is taken over the way one instance does it: that instance ends its
// connection (v5 DISCONNECT 0x8E, Will, connected:false) and releases, and only then does this one
// answer CONNACK and announce connected:true, so the application sees one connected:false /
// connected:true pair in order. A holder that does not release within the TTL is forced away and
// its goodbye (stored with its claim as the "farewell") is said here. Every ttl/3 the instance
// renews its lease and reaps dead instances: their devices' Wills and connected:false come from
// the survivor that reaped them.

import { randomUUID } from 'node:crypto';
import type { UserProperties } from 'mqtt-packet';
import type { ConnectionDirectory, LostConnection } from '../../functions/ports/directory.ts';
import { dialectFromString } from '../../functions/normalize/topic.ts';
import { rfc3339 } from '../../events/time.ts';
import type { GatewayCore, SessionContext, Will } from './context.ts';
import { connectionEvent, type SessionIdentity } from './events.ts';
import { End } from './ending.ts';
import { publishWillOf } from './handlers/publish.ts';
import { CLOSED } from './state.ts';

/** What the directory keeps for a survivor: the identity of the connection events and the Will. */
interface FarewellJson {
  who: SessionIdentity;
  will?: {
    topic: string; payload: string; qos: 0 | 1 | 2;
    contentType?: string; payloadFormatIndicator?: boolean; userProperties?: UserProperties;
  };
}

export function farewellText(who: SessionIdentity, will: Will | undefined, v5: boolean): string {
  const out: FarewellJson = { who };
  if (will !== undefined) {
    const payload = typeof will.payload === 'string' ? Buffer.from(will.payload) : Buffer.from(will.payload);
    const p = v5 ? will.properties : undefined;
    out.will = {
      topic: will.topic, payload: payload.toString('base64'), qos: will.qos ?? 0,
      ...(p?.contentType !== undefined ? { contentType: p.contentType } : {}),
      ...(p?.payloadFormatIndicator !== undefined ? { payloadFormatIndicator: p.payloadFormatIndicator } : {}),
      ...(p?.userProperties !== undefined ? { userProperties: p.userProperties } : {}),
    };
  }
  return JSON.stringify(out);
}

/** Publishes the Will and connected:false of a connection another instance held. */
export async function sayGoodbyeFor(gw: GatewayCore, text: string | undefined): Promise<void> {
  if (text === undefined) return;
  let f: FarewellJson;
  try { f = JSON.parse(text) as FarewellJson; } catch { return; }
  const { opts } = gw;
  const who = f.who;
  const onBusError = (err: unknown): void => opts.logger.warn({ err: err instanceof Error ? err.message : String(err), device: who.device }, 'bus refused a farewell event');
  const dialect = dialectFromString(who.dialect);
  if (f.will !== undefined && dialect !== undefined) {
    const w = f.will;
    const will: Will = {
      topic: w.topic, payload: Buffer.from(w.payload, 'base64'), qos: w.qos, retain: false,
      properties: { contentType: w.contentType, payloadFormatIndicator: w.payloadFormatIndicator, userProperties: w.userProperties },
    };
    const mayActFor = async (device: string): Promise<boolean> =>
      (await opts.authorizeAs({ application: who.application, sender: who.device, device }, opts.registry)).ok;
    try { await publishWillOf(gw, who, dialect, will, mayActFor, onBusError); } catch (err) { onBusError(err); }
  }
  await opts.bus.publish(connectionEvent(opts.newId(), rfc3339(opts.clock.now()), who, opts.instance, false)).catch(onBusError);
}

export class Presence {
  private readonly timer: NodeJS.Timeout;
  private readonly unlisten: () => void;
  private beating: Promise<void> | undefined;
  /**
   * Connection tokens: a random prefix drawn once per instance and a counter, unique across
   * instances and restarts like a UUID per connection, without drawing random bytes per connect.
   */
  private readonly tokenPrefix = `${randomUUID()}/`;
  private tokens = 0;

  constructor(private readonly gw: GatewayCore, readonly directory: ConnectionDirectory, readonly instanceId: string) {
    this.unlisten = directory.listen(instanceId, (lost) => this.lost(lost));
    this.timer = setInterval(() => { void this.heartbeat(); }, Math.max(1, Math.floor(directory.ttlMs / 3)));
    this.timer.unref();
  }

  /** Renews the lease, then says goodbye for the devices of instances that died. */
  heartbeat(): Promise<void> {
    this.beating ??= (async () => {
      try {
        await this.directory.refresh(this.instanceId);
        const dead = await this.directory.reap();
        if (dead.length > 0) this.gw.opts.logger.info({ connections: dead.length }, 'connections of dead instances ended');
        for (const e of dead) await sayGoodbyeFor(this.gw, e.farewell);
      } catch (err) {
        this.gw.opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'connection directory heartbeat failed');
      }
    })().finally(() => { this.beating = undefined; });
    return this.beating;
  }

  /** Makes this instance the device's holder (see the header); false when the session closed meanwhile. */
  async claim(s: SessionContext, will: Will | undefined): Promise<boolean> {
    const who = s.who!;
    const token = this.tokenPrefix + (++this.tokens).toString(36);
    s.presenceToken = token;
    const entry = { application: who.application, device: who.device, instance: this.instanceId, token, farewell: farewellText(who, will, s.v5) };
    let r = await this.directory.claim(entry);
    if (!r.claimed) {
      this.gw.stats.takeovers++;
      await this.directory.waitReleased(who.application, who.device, r.holder.token, this.directory.ttlMs);
      r = await this.directory.claim(entry, { force: true });
    }
    if (r.claimed && r.orphan !== undefined) await sayGoodbyeFor(this.gw, r.orphan.farewell);
    if (s.state === CLOSED) {
      await this.directory.release({ ...entry });
      return false;
    }
    return true;
  }

  /** After the session's last events went to the bus: the device is free for its next holder. */
  ended(s: SessionContext, finished: Promise<void>): void {
    const token = s.presenceToken;
    if (token === undefined || s.who === undefined) return;
    const ref = { application: s.who.application, device: s.who.device, instance: this.instanceId, token };
    void finished.then(() => this.directory.release(ref)).catch((err: unknown) =>
      this.gw.opts.logger.warn({ err: err instanceof Error ? err.message : String(err), device: ref.device }, 'connection directory release failed'));
  }

  private lost(lost: LostConnection): void {
    const s = this.gw.sessionOf(lost.entry.application, lost.entry.device);
    if (s === undefined || s.presenceToken !== lost.entry.token) return;
    void s.end(lost.farewell ? End.takenOver : End.leaseLost, 'taken over by a connection to another instance');
  }

  close(): void {
    clearInterval(this.timer);
    this.unlisten();
  }
}
