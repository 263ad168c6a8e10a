// External command endpoints (Drogue Cloud §3.5): a gateway device whose `spec.commands` names an
// `external` endpoint gets the command as an HTTP request instead of over a connection. The
// request bodies are Drogue's, byte for byte in meaning: the default JSON form, TTN v2 (`ttn`,
// `ttnv2`) and TTN v3 (`ttnv3`) downlinks; `port:<n>` commands address a LoRaWAN port. The call
// itself goes through the ExternalEndpoint port (the function opens no socket).

import { MooringError } from '../../events/errors.ts';
import type { Device } from '../ports/registry.ts';

/** `spec.commands[].external` of a gateway device. */
export interface ExternalCommandSpec {
  type?: string;
  url: string;
  /** Default POST; `""` means the default too. */
  method?: string;
  headers?: Record<string, string>;
}

export interface ExternalRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Sends one request; resolves with the status the endpoint answered (rejects on a network error). */
export type ExternalEndpoint = (request: ExternalRequest) => Promise<{ status: number }>;

/** The external endpoint of a gateway: the last entry of a non-empty `spec.commands` (Drogue). */
export function externalEndpointOf(gateway: Device): ExternalCommandSpec | undefined {
  const commands = (gateway.spec as { commands?: unknown }).commands;
  if (!Array.isArray(commands) || commands.length === 0) return undefined;
  const last = commands[commands.length - 1] as { external?: ExternalCommandSpec } | undefined;
  const ext = last?.external;
  if (ext === undefined || typeof ext !== 'object' || typeof ext.url !== 'string') return undefined;
  return ext;
}

export interface ExternalCommand {
  device: string;
  application: string;
  command: string;
  payload: Uint8Array;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

/** `port:<n>` → n (a LoRaWAN FPort), else undefined. */
function portOf(command: string): number | undefined {
  const m = /^port:(\d{1,3})$/.exec(command);
  return m ? Number(m[1]) : undefined;
}

/** The HTTP request Drogue sends for `cmd` to `spec`; an unknown type is refused (406). */
export function externalRequest(spec: ExternalCommandSpec, cmd: ExternalCommand): ExternalRequest {
  const method = spec.method === undefined || spec.method === '' ? 'POST' : spec.method.toUpperCase();
  const headers = { 'content-type': 'application/json', ...(spec.headers ?? {}) };
  const port = portOf(cmd.command);
  switch (spec.type ?? '') {
    case '':
      return { url: spec.url, method, headers, body: json({ application: cmd.application, device: cmd.device, command: cmd.command, payload: b64(cmd.payload) }) };
    case 'ttn':
    case 'ttnv2':
      return {
        url: spec.url, method, headers,
        body: json(port !== undefined
          ? { dev_id: cmd.device, port, confirmed: false, payload_raw: b64(cmd.payload) }
          : { dev_id: cmd.device, port: 1, confirmed: false, payload_fields: { command: cmd.command, command_payload: b64(cmd.payload) } }),
      };
    case 'ttnv3': {
      const frm = port !== undefined
        ? b64(cmd.payload)
        : b64(json({ command: cmd.command, command_payload: b64(cmd.payload) }));
      return {
        url: `${spec.url}/${encodeURIComponent(cmd.device)}/down/replace`, method, headers,
        body: json({ downlinks: [{ f_port: port ?? 1, frm_payload: frm }] }),
      };
    }
    default:
      throw new MooringError('MOORING_REJECTED', `external command endpoint type ${JSON.stringify(spec.type)} is not one of ttn, ttnv2, ttnv3 or the default`);
  }
}
