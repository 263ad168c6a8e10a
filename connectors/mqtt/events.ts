// The events the gateway puts on the bus, built with the shared constructors (events/constructors.ts,
// no validation: this is the hot path): the raw publish (io.mooring.publish.v1, payload as data,
// MQTT metadata in extensions so binary-mode bindings carry it as headers) and Drogue's connection
// event (io.drogue.connection.v1), both keyed by Drogue's partition key `{app}/{sender}` so an
// application sees connected → data → disconnected in order.

import type { CloudEvent, ExtensionValue } from '../../events/cloudevent.ts';
import { STAGE_EXTENSION, Stage } from '../../events/stage.ts';
import { connectionEvent as makeConnectionEvent, publishEvent as makePublishEvent, type Uids } from '../../events/constructors.ts';
import type { UserProperties } from 'mqtt-packet';
import type { EventBus } from '../../functions/ports/bus.ts';

/** What every event of one session shares, fixed at CONNECT. */
export interface SessionIdentity {
  readonly application: string;
  readonly device: string;
  /** `drogue/v1`, `plainTopic`, `plainTopic;devicePrefix`. */
  readonly dialect: string;
  /** The application's and the device's registry uids, when the registry has them. */
  readonly uids: Uids | undefined;
}

export function sessionIdentity(
  application: string, device: string, dialect: string,
  applicationUid?: string, deviceUid?: string,
): SessionIdentity {
  const uids = applicationUid === undefined && deviceUid === undefined ? undefined : { applicationUid, senderUid: deviceUid };
  return { application, device, dialect, uids };
}

export interface PublishFields {
  topic: string;
  qos: number;
  retain: boolean;
  payload: Uint8Array;
  contentType?: string | undefined;
  payloadFormat?: boolean | undefined;
  userProperties?: UserProperties | undefined;
}

/** User properties as a JSON array of [key, value] pairs (mqtt-packet groups repeated keys). */
export function userPropertiesJson(props: UserProperties): string {
  const pairs: Array<[string, string]> = [];
  for (const key of Object.keys(props)) {
    const v = props[key]!;
    if (Array.isArray(v)) for (const one of v) pairs.push([key, one]);
    else pairs.push([key, v]);
  }
  return JSON.stringify(pairs);
}

export function publishEvent(id: string, time: string, who: SessionIdentity, p: PublishFields): CloudEvent {
  return makePublishEvent({
    id,
    time,
    application: who.application,
    sender: who.device,
    topic: p.topic,
    payload: p.payload,
    contentType: p.contentType,
    qos: p.qos,
    retain: p.retain,
    dialect: who.dialect,
    endpoint: 'mqtt',
    payloadFormat: p.payloadFormat === undefined ? undefined : p.payloadFormat ? 1 : 0,
    userProperties: p.userProperties === undefined ? undefined : userPropertiesJson(p.userProperties),
    uids: who.uids,
  });
}

/**
 * Drogue's connection event. Marked raw, it takes the publishes' Triggers, keeping its place among
 * them (events/stage.ts). A quiet `bus` (it has nothing of the device's partition key: EventBus.quiet)
 * leaves it unmarked, final as content-type would have made it: nothing of the device is ahead
 * of it to overtake, so the pass-through normalize and content-type are skipped.
 */
export function connectionEvent(
  id: string, time: string, who: SessionIdentity, instance: string, connected: boolean, bus?: Pick<EventBus, 'quiet'>,
): CloudEvent {
  const event = makeConnectionEvent(who.application, who.device, connected, {
    id, time, instance,
    uids: who.uids && { applicationUid: who.uids.applicationUid, deviceUid: who.uids.senderUid },
  });
  const extensions = event.extensions as Record<string, ExtensionValue>;
  // The event was just built here: the mark goes into its own extensions, not into a copy.
  if (bus?.quiet?.(extensions.partitionkey as string) !== true) extensions[STAGE_EXTENSION] = Stage.raw;
  return event;
}
