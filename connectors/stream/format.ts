// How the pull integrations write an event for an application (Drogue's integrations,
// event-common/src/stream/mod.rs and mqtt-integration/src/service/stream.rs):
// - structured: the JSON event format (events/bindings/structured.ts); data under a JSON content
//   type as JSON, `text/plain*` as a string, anything else as `data_base64`;
// - binary (MQTT 5 `content-mode: binary`): the data as the payload, the content type as the
//   MQTT property, every other attribute and extension as a user property (text); `dataschema`
//   is left out, as in Drogue.

import { CORE_ATTRIBUTES, type CloudEvent } from '../../events/cloudevent.ts';
import { toStructured } from '../../events/bindings/structured.ts';

/** `application/cloudevents+json; charset=utf-8`: the content type of a structured event. */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

const TEXT = /^text\/plain\s*(;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The structured JSON object an application receives. */
export function structuredForApplication(event: CloudEvent): Record<string, unknown> {
  const out = toStructured(event);
  if (event.data !== undefined && event.datacontenttype !== undefined && TEXT.test(event.datacontenttype)) {
    try {
      const text = utf8.decode(event.data);
      delete out.data_base64;
      out.data = text;
    } catch {
      // Not UTF-8: it stays base64.
    }
  }
  return out;
}

/** The structured event as the bytes of one MQTT payload or WebSocket text frame. */
export function encodeForApplication(event: CloudEvent): Buffer {
  return Buffer.from(JSON.stringify(structuredForApplication(event)), 'utf8');
}

export interface BinaryForm {
  payload: Buffer;
  contentType: string | undefined;
  /** Attribute and extension name → text, in CloudEvents order. */
  userProperties: Record<string, string>;
}

/** The binary-mode parts of an event (MQTT 5). */
export function binaryForApplication(event: CloudEvent): BinaryForm {
  const userProperties: Record<string, string> = {};
  for (const name of CORE_ATTRIBUTES) {
    if (name === 'datacontenttype' || name === 'dataschema') continue;
    const v = event[name];
    if (v !== undefined) userProperties[name] = String(v);
  }
  for (const [k, v] of Object.entries(event.extensions)) userProperties[k] = String(v);
  const data = event.data;
  return {
    payload: data === undefined ? Buffer.alloc(0) : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    contentType: event.datacontenttype,
    userProperties,
  };
}
