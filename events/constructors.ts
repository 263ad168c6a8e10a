// Cheap typed constructors for Mooring's event types, for hot paths: no validation (validate at
// the boundary with events/validate.ts), no copies of the payload. They produce exactly the
// attributes Drogue Cloud puts on its events, percent-encoding included.

import type { CloudEvent, ExtensionValue } from './cloudevent.ts';
import { CommandExt, EventTypes, PublishExt } from './types.ts';
import { STAGE_EXTENSION, Stage } from './stage.ts';
import { TRACEPARENT } from './trace.ts';

const HEX = '0123456789ABCDEF';
const ALNUM = /^[A-Za-z0-9]*$/;

function isAlnum(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/**
 * Drogue's percent-encoding for source and partition key: Rust's
 * `utf8_percent_encode(s, NON_ALPHANUMERIC)`, i.e. every UTF-8 byte that is not an ASCII letter
 * or digit becomes `%XX` (upper-case hex). Stricter than encodeURIComponent: `-`, `_`, `.`, `~`,
 * `!`, `*`, `'`, `(`, `)` are encoded too (`app_id` → `app%5Fid`, `simple-thing` → `simple%2Dthing`).
 */
export function drogueEncode(value: string): string {
  if (ALNUM.test(value)) return value;
  let out = '';
  for (const b of Buffer.from(value, 'utf8')) {
    out += isAlnum(b) ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/**
 * `drogue://{app}/{enc device}`: the `source` of Drogue's device and connection events. Drogue
 * Cloud encodes only the device segment (NON_ALPHANUMERIC); the application name is a DNS label
 * (validated by the registry), so it is written as it is.
 */
export function drogueSource(application: string, device: string): string {
  return `drogue://${application}/${drogueEncode(device)}`;
}

/** Registry uids an event carries when the registry has them (Drogue sets them whenever it does). */
export interface Uids {
  applicationUid?: string | undefined;
  /** Of the device the event is about. */
  deviceUid?: string | undefined;
  /** Of the device that sent it (the gateway, for gateway traffic). */
  senderUid?: string | undefined;
}

function putUids(extensions: Record<string, ExtensionValue>, uids: Uids, device: boolean): void {
  if (uids.applicationUid !== undefined) extensions.applicationuid = uids.applicationUid;
  if (device && uids.deviceUid !== undefined) extensions.deviceuid = uids.deviceUid;
  if (uids.senderUid !== undefined) extensions.senderuid = uids.senderUid;
}

/** `{enc app}/{enc sender}`: the `partitionkey` that keeps one sender's events in order. */
export function droguePartitionKey(application: string, sender: string): string {
  return `${drogueEncode(application)}/${drogueEncode(sender)}`;
}

/** Alias with the spelling used in the issue brief. */
export const droguepartitionKey = droguePartitionKey;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Common optional inputs: the id (uuid) and time (RFC 3339) are the caller's, for testability. */
interface Base {
  id: string;
  /** RFC 3339; callers pass `new Date(clock.now()).toISOString()`. */
  time: string;
}

export interface PublishInit extends Base {
  application: string;
  /** The authenticated device that sent it (a gateway for gateway traffic). */
  sender: string;
  /** The MQTT topic or HTTP channel path as received. */
  topic: string;
  payload?: Uint8Array | undefined;
  contentType?: string | undefined;
  qos?: number | undefined;
  retain?: boolean | undefined;
  /** `drogue/v1`, `plainTopic`, `plainTopic;devicePrefix` (see normalize/topic.ts dialectToString). */
  dialect?: string | undefined;
  /** mqtt, http. */
  endpoint?: string | undefined;
  /** MQTT 5 payload format indicator (0 bytes, 1 UTF-8). */
  payloadFormat?: 0 | 1 | undefined;
  /** MQTT 5 user properties as [key, value] pairs, or already their JSON text. */
  userProperties?: ReadonlyArray<readonly [string, string]> | string | undefined;
  /** Target device already resolved by the connector (HTTP `device`/`as`). */
  device?: string | undefined;
  dataschema?: string | undefined;
  /** The application's and the sender's registry uids (normalize carries them on). */
  uids?: Uids | undefined;
  /** W3C trace context (events/trace.ts): the `traceparent` extension every later hop carries on. */
  traceparent?: string | undefined;
}

/** io.mooring.publish.v1: a raw publish; source and partition key are the sender's. */
export function publishEvent(init: PublishInit): CloudEvent {
  const extensions: Record<string, ExtensionValue> = {
    [PublishExt.application]: init.application,
    [PublishExt.sender]: init.sender,
    [PublishExt.topic]: init.topic,
    [PublishExt.partitionkey]: droguePartitionKey(init.application, init.sender),
  };
  if (init.qos !== undefined) extensions[PublishExt.qos] = init.qos;
  if (init.retain !== undefined) extensions[PublishExt.retain] = init.retain;
  if (init.dialect !== undefined) extensions[PublishExt.dialect] = init.dialect;
  if (init.endpoint !== undefined) extensions[PublishExt.endpoint] = init.endpoint;
  if (init.payloadFormat !== undefined) extensions[PublishExt.payloadformat] = init.payloadFormat;
  if (init.userProperties !== undefined) {
    extensions[PublishExt.userproperties] = typeof init.userProperties === 'string' ? init.userProperties : JSON.stringify(init.userProperties);
  }
  if (init.device !== undefined) extensions[PublishExt.device] = init.device;
  if (init.uids !== undefined) putUids(extensions, init.uids, false);
  if (init.traceparent !== undefined) extensions[TRACEPARENT] = init.traceparent;
  const event: Mutable<CloudEvent> = {
    specversion: '1.0',
    id: init.id,
    source: drogueSource(init.application, init.sender),
    type: EventTypes.publish,
    time: init.time,
    extensions,
  };
  if (init.payload !== undefined) event.data = init.payload;
  if (init.contentType !== undefined) event.datacontenttype = init.contentType;
  if (init.dataschema !== undefined) event.dataschema = init.dataschema;
  return event;
}

export interface DeviceEventInit extends Base {
  application: string;
  /** The device the event is about (the target of a gateway publish). */
  device: string;
  /** The authenticated device that sent it. */
  sender: string;
  /** Drogue's `instance` (default `drogue`). */
  instance: string;
  /** The channel: becomes `subject`. */
  channel: string;
  data?: Uint8Array | undefined;
  datacontenttype?: string | undefined;
  dataschema?: string | undefined;
  /** Further extensions to carry (names must match `[a-z0-9]{1,20}`). */
  extensions?: Readonly<Record<string, ExtensionValue>> | undefined;
  uids?: Uids | undefined;
}

/** io.drogue.event.v1, attribute for attribute as Drogue Cloud's endpoints produced it. */
export function deviceEvent(init: DeviceEventInit): CloudEvent {
  const extensions: Record<string, ExtensionValue> = {
    ...init.extensions,
    application: init.application,
    device: init.device,
    sender: init.sender,
    instance: init.instance,
    partitionkey: droguePartitionKey(init.application, init.sender),
  };
  if (init.uids !== undefined) putUids(extensions, init.uids, true);
  const event: Mutable<CloudEvent> = {
    specversion: '1.0',
    id: init.id,
    source: drogueSource(init.application, init.device),
    type: EventTypes.deviceEvent,
    subject: init.channel,
    time: init.time,
    extensions,
  };
  if (init.data !== undefined) event.data = init.data;
  if (init.datacontenttype !== undefined) event.datacontenttype = init.datacontenttype;
  if (init.dataschema !== undefined) event.dataschema = init.dataschema;
  return event;
}

const CONNECTED = new TextEncoder().encode('{"connected":true}');
const DISCONNECTED = new TextEncoder().encode('{"connected":false}');

export interface ConnectionEventOptions extends Base {
  instance: string;
  /** Defaults to the device itself. */
  sender?: string | undefined;
  /** `senderUid` defaults to `deviceUid` when the sender is the device itself. */
  uids?: Uids | undefined;
}

/** io.drogue.connection.v1: subject `connection`, JSON data `{"connected": bool}`. */
export function connectionEvent(application: string, device: string, connected: boolean, opts: ConnectionEventOptions): CloudEvent {
  const sender = opts.sender ?? device;
  const extensions: Record<string, ExtensionValue> = {
    application,
    device,
    sender,
    instance: opts.instance,
    partitionkey: droguePartitionKey(application, sender),
  };
  if (opts.uids !== undefined) {
    const { applicationUid, deviceUid } = opts.uids;
    const senderUid = opts.uids.senderUid ?? (sender === device ? deviceUid : undefined);
    putUids(extensions, { applicationUid, deviceUid, senderUid }, true);
  }
  return {
    specversion: '1.0',
    id: opts.id,
    source: drogueSource(application, device),
    type: EventTypes.connection,
    subject: 'connection',
    time: opts.time,
    datacontenttype: 'application/json',
    data: connected ? CONNECTED : DISCONNECTED,
    extensions,
  };
}

export interface CommandInit extends Base {
  application: string;
  /** The device the command is addressed to. */
  device: string;
  /** The command name. */
  command: string;
  payload?: Uint8Array | undefined;
  contentType?: string | undefined;
  /** The connection to deliver to, when it is a gateway of `device` rather than the device itself. */
  target?: string | undefined;
  /** The instance holding the target's connection (a routed command). */
  holder?: string | undefined;
  /** RFC 3339: how long the command may wait in the offline queue. */
  expires?: string | undefined;
  /** Request/response: the id the device's reply names. */
  request?: string | undefined;
  /** Request/response: the instance waiting for the reply. */
  replyTo?: string | undefined;
}

/**
 * io.mooring.command.v1: source `drogue://{app}/{device}`, subject = the command name, partition
 * key `{app}/{target connection}` so the commands for one connection stay in order.
 */
export function commandEvent(init: CommandInit): CloudEvent {
  const extensions: Record<string, ExtensionValue> = {
    [CommandExt.application]: init.application,
    [CommandExt.device]: init.device,
    [CommandExt.command]: init.command,
    [CommandExt.partitionkey]: droguePartitionKey(init.application, init.target ?? init.device),
  };
  if (init.target !== undefined && init.target !== init.device) extensions[CommandExt.target] = init.target;
  if (init.holder !== undefined) extensions[CommandExt.holder] = init.holder;
  if (init.expires !== undefined) extensions[CommandExt.expires] = init.expires;
  if (init.request !== undefined) extensions[CommandExt.request] = init.request;
  if (init.replyTo !== undefined) extensions[CommandExt.replyTo] = init.replyTo;
  const event: Mutable<CloudEvent> = {
    specversion: '1.0',
    id: init.id,
    source: drogueSource(init.application, init.device),
    type: EventTypes.command,
    subject: init.command,
    time: init.time,
    extensions,
  };
  if (init.payload !== undefined) event.data = init.payload;
  if (init.contentType !== undefined) event.datacontenttype = init.contentType;
  return event;
}

export interface RegistryChangeInit extends Base {
  /** Drogue's `instance` (default `drogue`). */
  instance: string;
  kind: 'application' | 'device';
  application: string;
  /** For device changes. */
  device?: string | undefined;
  /** The changed path: `.`, `.metadata`, `.spec.<key>`, `.status.<key>`. */
  path: string;
  revision: number;
  uid: string;
}

/**
 * io.drogue.registry.change.application|device, as Drogue's registry sends one per changed path
 * (registry-events): source `drogue:/{instance}/{app}[/{device}]` (the device segment encoded as
 * in drogueSource, since device names may hold any character), subject = the path, partitionkey
 * `{instance}/{app}[/{device}]`, JSON data `{"revision", "uid"}`.
 */
export function registryChangeEvent(init: RegistryChangeInit): CloudEvent {
  const device = init.kind === 'device' ? init.device : undefined;
  const extensions: Record<string, ExtensionValue> = {
    instance: init.instance,
    application: init.application,
    partitionkey: device === undefined ? `${init.instance}/${init.application}` : `${init.instance}/${init.application}/${device}`,
  };
  if (device !== undefined) extensions.device = device;
  return {
    specversion: '1.0',
    id: init.id,
    source: device === undefined ? `drogue:/${init.instance}/${init.application}` : `drogue:/${init.instance}/${init.application}/${drogueEncode(device)}`,
    type: init.kind === 'application' ? EventTypes.registryChangeApplication : EventTypes.registryChangeDevice,
    subject: init.path,
    time: init.time,
    datacontenttype: 'application/json',
    data: new TextEncoder().encode(JSON.stringify({ revision: init.revision, uid: init.uid })),
    extensions,
  };
}

export interface RegistryNotificationInit extends Base {
  instance: string;
  application: string;
  device: string;
  /** The device's uid as the registry event carries it. */
  deviceUid: string;
}

/**
 * io.drogue.registry.v1 in an application's stream for a device registry change (Drogue's
 * device-management-controller): subject `devices`, device = sender = the device name, deviceuid
 * = senderuid, an empty body (`application/octet-stream`).
 */
export function registryNotificationEvent(init: RegistryNotificationInit): CloudEvent {
  return {
    specversion: '1.0',
    id: init.id,
    source: drogueSource(init.application, init.device),
    type: EventTypes.registry,
    subject: 'devices',
    time: init.time,
    datacontenttype: 'application/octet-stream',
    data: new Uint8Array(0),
    extensions: {
      application: init.application,
      device: init.device,
      sender: init.device,
      instance: init.instance,
      partitionkey: droguePartitionKey(init.application, init.device),
      deviceuid: init.deviceUid,
      senderuid: init.deviceUid,
    },
  };
}

export interface CommandReplyInit extends Base {
  application: string;
  /** The connection that answered (the device, or its gateway). */
  sender: string;
  /** The request id the reply names. */
  request: string;
  /** The instance waiting for the reply. */
  replyTo: string;
  payload: Uint8Array;
  contentType?: string | undefined;
}

/**
 * io.mooring.command.reply.v1: a reply taken by an instance other than the one waiting for it,
 * routed there like a command (`mooringstage: routed`, `mooringholder` = the waiting instance).
 */
export function commandReplyEvent(init: CommandReplyInit): CloudEvent {
  const event: Mutable<CloudEvent> = {
    specversion: '1.0',
    id: init.id,
    source: drogueSource(init.application, init.sender),
    type: EventTypes.commandReply,
    subject: init.request,
    time: init.time,
    extensions: {
      [CommandExt.application]: init.application,
      [CommandExt.device]: init.sender,
      [CommandExt.request]: init.request,
      [CommandExt.holder]: init.replyTo,
      [CommandExt.partitionkey]: droguePartitionKey(init.application, init.sender),
      [STAGE_EXTENSION]: Stage.routed,
    },
    data: init.payload,
  };
  if (init.contentType !== undefined) event.datacontenttype = init.contentType;
  return event;
}
