// Reads a device's publish topic in its MQTT dialect (Drogue Cloud's `spec.mqtt.dialect`) and
// resolves which dialect applies to a device. Shared by the normalize function and the device
// connectors (the MQTT gateway answers a topic that does not parse with v5 reason code 0x90).

import { MooringError } from '../../events/errors.ts';
import type { Application, Device, MqttDialect } from '../ports/registry.ts';
import type { TopicParse } from './dialect-types.ts';

export type { TopicParse } from './dialect-types.ts';

export const DEFAULT_DIALECT: MqttDialect = Object.freeze({ type: 'drogue/v1' });

/**
 * Splits `topic` into channel and target device. `device` is undefined when the sender publishes
 * as itself. Without a dialect, `drogue/v1` applies.
 *
 * Mooring decisions where Drogue let an empty string through: an empty channel is refused in
 * every dialect (Drogue produced an event with an empty subject), and an empty device segment
 * means the connected device itself (`ch/` in drogue/v1, `/ch` in plainTopic with devicePrefix).
 */
export function parseTopic(topic: string, dialect: MqttDialect | undefined): TopicParse {
  if (topic.length === 0) return { ok: false, message: 'empty topic' };
  const d = dialect ?? DEFAULT_DIALECT;
  switch (d.type) {
    case 'drogue/v1': return parseDrogueV1(topic);
    case 'plainTopic': return d.devicePrefix === true ? parsePlainWithPrefix(topic) : { ok: true, channel: topic, device: undefined };
    default: return { ok: false, message: `unknown dialect ${JSON.stringify((d as { type?: unknown }).type)}` };
  }
}

/** Drogue V1: `<channel>` publishes as the connected device, `<channel>/<device>` on behalf of `<device>`. */
function parseDrogueV1(topic: string): TopicParse {
  const slash = topic.indexOf('/');
  if (slash < 0) return { ok: true, channel: topic, device: undefined };
  if (topic.indexOf('/', slash + 1) >= 0) {
    return { ok: false, message: 'topic has more than two segments (expected <channel> or <channel>/<device>)' };
  }
  const channel = topic.slice(0, slash);
  if (channel.length === 0) return { ok: false, message: 'empty channel' };
  const device = topic.slice(slash + 1);
  return { ok: true, channel, device: device.length === 0 ? undefined : device };
}

/** Plain topic with device prefix: `<device>/<channel…>`; `/<channel…>` is the connected device. */
function parsePlainWithPrefix(topic: string): TopicParse {
  const slash = topic.indexOf('/');
  if (slash < 0) return { ok: false, message: 'topic has a single segment (expected <device>/<channel>)' };
  const channel = topic.slice(slash + 1);
  if (channel.length === 0) return { ok: false, message: 'empty channel' };
  const device = topic.slice(0, slash);
  return { ok: true, channel, device: device.length === 0 ? undefined : device };
}

/** Checks a `spec.mqtt.dialect` value from the registry; undefined when it does not parse. */
export function checkDialect(value: unknown): MqttDialect | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (v.type === 'drogue/v1') return { type: 'drogue/v1' };
  if (v.type === 'plainTopic') {
    if (v.devicePrefix !== undefined && typeof v.devicePrefix !== 'boolean') return undefined;
    return v.devicePrefix === true ? { type: 'plainTopic', devicePrefix: true } : { type: 'plainTopic' };
  }
  return undefined;
}

/**
 * The dialect a device publishes in: the device's `spec.mqtt.dialect`, else the application's,
 * else `drogue/v1`. A configured dialect that does not parse throws MOORING_INVALID_CONFIG (the
 * gateway refuses the connection, as Drogue did).
 */
export function resolveDialect(device: Device | undefined, application: Application | undefined): MqttDialect {
  const fromDevice = device?.spec?.mqtt?.dialect;
  if (fromDevice !== undefined) return mustParse(fromDevice, `device ${device?.metadata.name}`);
  const fromApp = application?.spec?.mqtt?.dialect;
  if (fromApp !== undefined) return mustParse(fromApp, `application ${application?.metadata.name}`);
  return DEFAULT_DIALECT;
}

function mustParse(value: unknown, where: string): MqttDialect {
  const d = checkDialect(value);
  if (!d) throw new MooringError('MOORING_INVALID_CONFIG', `${where}: spec.mqtt.dialect ${JSON.stringify(value)} is not a known dialect`);
  return d;
}

/** The `dialect` extension value: `drogue/v1`, `plainTopic`, `plainTopic;devicePrefix`. */
export function dialectToString(dialect: MqttDialect): string {
  if (dialect.type === 'plainTopic') return dialect.devicePrefix === true ? 'plainTopic;devicePrefix' : 'plainTopic';
  return 'drogue/v1';
}

/**
 * Reads a `dialect` extension value. Accepts `plainTopic;prefix` as a synonym of
 * `plainTopic;devicePrefix` (the name used in events/types.ts); undefined when it does not parse.
 */
export function dialectFromString(value: string): MqttDialect | undefined {
  switch (value) {
    case 'drogue/v1': return { type: 'drogue/v1' };
    case 'plainTopic': return { type: 'plainTopic' };
    case 'plainTopic;devicePrefix':
    case 'plainTopic;prefix': return { type: 'plainTopic', devicePrefix: true };
    default: return undefined;
  }
}
