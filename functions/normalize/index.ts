// The normalize function: a raw publish (io.mooring.publish.v1) becomes Drogue Cloud's device
// event (io.drogue.event.v1). The topic is read in the sender's dialect (the `dialect` extension
// the connector resolved at connect time, else device → application → drogue/v1 from the
// registry); the event is about the target device (gateway traffic) or the sender itself.
// The reply carries `mooringstage: normalized` so that only content-type picks it up next.

import { withAttributes, type CloudEvent, type ExtensionValue } from '../../events/cloudevent.ts';
import { deviceEvent, type Uids } from '../../events/constructors.ts';
import { STAGE_EXTENSION, Stage } from '../../events/stage.ts';
import { EventTypes, PublishExt } from '../../events/types.ts';
import { MooringError } from '../../events/errors.ts';
import type { MqttDialect } from '../ports/registry.ts';
import type { FunctionContext, MooringFunction } from '../ports/runtime.ts';
import { dialectFromString, parseTopic, resolveDialect } from './topic.ts';
import { rfc3339 } from '../../events/time.ts';

/** Publish metadata that stays behind: Drogue's device event does not carry it. */
const PUBLISH_ONLY: ReadonlySet<string> = new Set([
  PublishExt.topic, PublishExt.qos, PublishExt.retain, PublishExt.dialect, PublishExt.payloadformat,
  PublishExt.userproperties, PublishExt.endpoint, PublishExt.device, PublishExt.dataschema,
  PublishExt.applicationuid, PublishExt.senderuid, PublishExt.eventtime,
]);

function requiredString(event: CloudEvent, name: string): string {
  const v = event.extensions[name];
  if (typeof v !== 'string' || v.length === 0) {
    throw new MooringError('MOORING_INVALID_EVENT', `${event.type} event ${event.id} lacks the ${name} extension`);
  }
  return v;
}

async function dialectOf(event: CloudEvent, application: string, sender: string, ctx: FunctionContext): Promise<MqttDialect> {
  const given = event.extensions[PublishExt.dialect];
  if (given !== undefined) {
    const d = typeof given === 'string' ? dialectFromString(given) : undefined;
    if (!d) throw new MooringError('MOORING_INVALID_EVENT', `event ${event.id}: unknown dialect ${JSON.stringify(given)}`);
    return d;
  }
  const [app, device] = await Promise.all([ctx.registry.getApplication(application), ctx.registry.getDevice(application, sender)]);
  return resolveDialect(device, app);
}

/**
 * The uids Drogue puts on a device event: the connector's application and sender uids; the
 * device's is the sender's for its own traffic, else looked up (gateway traffic only).
 */
async function uidsOf(event: CloudEvent, application: string, device: string, sender: string, ctx: FunctionContext): Promise<Uids | undefined> {
  const applicationUid = stringExt(event, PublishExt.applicationuid);
  const senderUid = stringExt(event, PublishExt.senderuid);
  const deviceUid = device === sender
    ? senderUid
    : (await ctx.registry.getDevice(application, device))?.metadata.uid;
  if (applicationUid === undefined && senderUid === undefined && deviceUid === undefined) return undefined;
  return { applicationUid, deviceUid, senderUid };
}

function stringExt(event: CloudEvent, name: string): string | undefined {
  const v = event.extensions[name];
  return typeof v === 'string' ? v : undefined;
}

export async function normalizePublish(event: CloudEvent, ctx: FunctionContext): Promise<CloudEvent> {
  // A connection event only passes through, so that it keeps its place among the device's events.
  if (event.type === EventTypes.connection) return withAttributes(event, { extensions: { [STAGE_EXTENSION]: Stage.normalized } });
  if (event.type !== EventTypes.publish) {
    throw new MooringError('MOORING_INVALID_EVENT', `normalize takes ${EventTypes.publish}, not ${event.type}`);
  }
  const application = requiredString(event, PublishExt.application);
  const sender = requiredString(event, PublishExt.sender);
  const topic = event.extensions[PublishExt.topic];
  if (typeof topic !== 'string') throw new MooringError('MOORING_INVALID_EVENT', `event ${event.id} lacks the topic extension`);

  const parsed = parseTopic(topic, await dialectOf(event, application, sender, ctx));
  if (!parsed.ok) throw new MooringError('MOORING_INVALID_TOPIC', `topic ${JSON.stringify(topic)}: ${parsed.message}`);

  // A target the connector already resolved (HTTP `device`/`as`, or an alias made canonical) wins.
  const resolved = event.extensions[PublishExt.device];
  const device = typeof resolved === 'string' && resolved.length > 0 ? resolved : parsed.device ?? sender;

  const carried: Record<string, ExtensionValue> = {};
  const ext = event.extensions;
  for (const k in ext) if (!PUBLISH_ONLY.has(k)) carried[k] = ext[k]!;
  carried[STAGE_EXTENSION] = Stage.normalized;

  const schema = event.dataschema ?? event.extensions[PublishExt.dataschema];
  return deviceEvent({
    uids: await uidsOf(event, application, device, sender, ctx),
    id: ctx.newId(),
    // The uplink's own time when the connector had one (TTN), else the time of publishing.
    time: stringExt(event, PublishExt.eventtime) ?? rfc3339(ctx.clock.now()),
    application,
    device,
    sender,
    instance: ctx.instance,
    channel: parsed.channel,
    data: event.data,
    datacontenttype: event.datacontenttype,
    dataschema: typeof schema === 'string' ? schema : undefined,
    extensions: carried,
  });
}

export const normalize: MooringFunction = {
  name: 'normalize',
  handle: normalizePublish,
};

export default normalize;
