// The Things Network webhooks (reference apps §2): the uplink of a TTN v2 HTTP integration
// (`POST /ttn/`, `/ttn/v2`) or a TTN v3 webhook (`POST /ttn/v3`), read with the fields Drogue's
// parser required. A body that does not parse is 400 MOORING_INVALID_REQUEST ("Invalid data
// format: …"); a v3 `join_accept` parses but is 400 too ("expected 'Uplink'").

import { MooringError } from '../../events/errors.ts';
import type { Device } from '../../functions/ports/registry.ts';

export interface Uplink {
  /** The TTN device id: the device the event is about (`as`). */
  readonly deviceId: string;
  /** The LoRaWAN port: the channel. */
  readonly port: number;
  /** v2 `hardware_serial`, v3 `end_device_ids.dev_addr`. */
  readonly hwaddr: string;
  /** v2 only. */
  readonly retry: boolean | undefined;
  /** The decoded frame payload. */
  readonly raw: Uint8Array;
  /** v2 `payload_fields`, v3 `decoded_payload` (undefined when absent). */
  readonly fields: unknown;
  /** The uplink's time (RFC 3339), the event's time. */
  readonly time: string;
}

type Obj = Record<string, unknown>;

function bad(message: string): MooringError {
  return new MooringError('MOORING_INVALID_REQUEST', `Invalid data format: ${message}`);
}

function object(v: unknown, path: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(`${path}: expected an object`);
  return v as Obj;
}

function string(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw bad(`${path}${key}: ${v === undefined ? 'missing field' : 'expected a string'}`);
  return v;
}

function uint(o: Obj, key: string, path: string, max: number, dflt?: number): number {
  const v = o[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw bad(`${path}${key}: ${v === undefined ? 'missing field' : `expected an integer 0..${max}`}`);
  }
  return v;
}

function bool(o: Obj, key: string, path: string): boolean {
  const v = o[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw bad(`${path}${key}: expected a boolean`);
  return v;
}

function time(o: Obj, key: string, path: string): string {
  const v = string(o, key, path);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(v) || Number.isNaN(Date.parse(v))) throw bad(`${path}${key}: not an RFC 3339 time`);
  return v;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function base64(o: Obj, key: string, path: string, optional: boolean): Uint8Array {
  const v = o[key];
  if (v === undefined && optional) return new Uint8Array(0);
  if (typeof v !== 'string') throw bad(`${path}${key}: ${v === undefined ? 'missing field' : 'expected a string'}`);
  if (!BASE64.test(v)) throw bad(`${path}${key}: not standard base64`);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

function array(o: Obj, key: string, path: string): Obj[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad(`${path}${key}: expected an array`);
  return v.map((e, i) => object(e, `${path}${key}[${i}]`));
}

function json(body: Uint8Array): Obj {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw bad(err instanceof Error ? err.message : 'not JSON');
  }
  return object(v, 'body');
}

/** A TTN v2 HTTP integration uplink. */
export function parseV2(body: Uint8Array): Uplink {
  const o = json(body);
  string(o, 'app_id', '');
  const deviceId = string(o, 'dev_id', '');
  const hwaddr = string(o, 'hardware_serial', '');
  const port = uint(o, 'port', '', 65535);
  uint(o, 'counter', '', 0xffffffff);
  const raw = base64(o, 'payload_raw', '', false);
  const metadata = object(o.metadata, 'metadata');
  const at = time(metadata, 'time', 'metadata.');
  for (const g of array(metadata, 'gateways', 'metadata.')) {
    string(g, 'gtw_id', 'metadata.gateways[].');
    if (typeof g.rssi !== 'number') throw bad('metadata.gateways[].rssi: missing field');
  }
  bool(o, 'confirmed', '');
  return { deviceId, port, hwaddr, retry: bool(o, 'is_retry', ''), raw, fields: o.payload_fields, time: at };
}

/** A TTN v3 webhook message; only an uplink is taken. */
export function parseV3(body: Uint8Array): Uplink {
  const o = json(body);
  const ids = object(o.end_device_ids, 'end_device_ids');
  const deviceId = string(ids, 'device_id', 'end_device_ids.');
  object(ids.application_ids, 'end_device_ids.application_ids');
  string(ids, 'dev_eui', 'end_device_ids.');
  string(ids, 'join_eui', 'end_device_ids.');
  const hwaddr = string(ids, 'dev_addr', 'end_device_ids.');
  const received = time(o, 'received_at', '');
  if (o.uplink_message === undefined) {
    if (o.join_accept !== undefined) throw new MooringError('MOORING_INVALID_REQUEST', 'Invalid data: Invalid message type, expected \'Uplink\'');
    throw bad('expected uplink_message or join_accept');
  }
  const up = object(o.uplink_message, 'uplink_message');
  const p = 'uplink_message.';
  string(up, 'session_key_id', p);
  if (up.f_cnt !== undefined) uint(up, 'f_cnt', p, 0xffffffff);
  const port = uint(up, 'f_port', p, 255, 0);
  const raw = base64(up, 'frm_payload', p, true);
  for (const m of array(up, 'rx_metadata', p)) {
    for (const k of ['rssi', 'channel_rssi']) if (typeof m[k] !== 'number') throw bad(`${p}rx_metadata[].${k}: missing field`);
    string(m, 'uplink_token', `${p}rx_metadata[].`);
  }
  string(object(up.settings, `${p}settings`), 'frequency', `${p}settings.`);
  string(up, 'consumed_airtime', p);
  const at = up.received_at !== undefined ? time(up, 'received_at', p) : received;
  return { deviceId, port, hwaddr, retry: undefined, raw, fields: up.decoded_payload ?? null, time: at };
}

export interface TtnPayload {
  readonly data: Uint8Array;
  readonly contentType: string | undefined;
}

/**
 * The event data by the device's `spec.ttn.payload`: `raw` the frame bytes, `fields` the decoded
 * fields as JSON, anything else the whole webhook body (its content type left to detection).
 */
export function ttnPayload(device: Device | undefined, uplink: Uplink, body: Uint8Array): TtnPayload {
  const ttn = (device?.spec as { ttn?: { payload?: unknown } } | undefined)?.ttn;
  switch (ttn?.payload) {
    case 'raw': return { data: uplink.raw, contentType: 'application/octet-stream' };
    case 'fields': return { data: Buffer.from(JSON.stringify(uplink.fields ?? null)), contentType: 'application/json' };
    default: return { data: body, contentType: undefined };
  }
}

/** `spec.lorawan.ports["<port>"].data_schema` of the device, if any. */
export function portSchema(device: Device | undefined, port: number): string | undefined {
  const lorawan = (device?.spec as { lorawan?: { ports?: Record<string, { data_schema?: unknown }> } } | undefined)?.lorawan;
  const schema = lorawan?.ports?.[String(port)]?.data_schema;
  return typeof schema === 'string' ? schema : undefined;
}
