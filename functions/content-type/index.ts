// The content-type function: the last step before an io.drogue.event.v1 is final. It applies
// Drogue's content-type rules (sniff.ts) and replies with the event, `datacontenttype` set and
// the `mooringstage` marker removed; a JSON content type whose payload does not parse is
// rejected (MOORING_REJECTED, HTTP 406 / MQTT v5 0x80).
// An event without any data and without a content type stays without one (CloudEvents: nothing
// to describe); an empty payload (zero bytes) is application/octet-stream.

import type { CloudEvent } from '../../events/cloudevent.ts';
import { withAttributes } from '../../events/cloudevent.ts';
import { STAGE_EXTENSION } from '../../events/stage.ts';
import { EventTypes } from '../../events/types.ts';
import { MooringError } from '../../events/errors.ts';
import type { MooringFunction } from '../ports/runtime.ts';
import { resolveContentType } from './sniff.ts';

export function applyContentType(event: CloudEvent): CloudEvent {
  // A connection event passes through (see events/stage.ts): it leaves with the marker removed.
  if (event.type === EventTypes.connection) return withAttributes(event, { extensions: { [STAGE_EXTENSION]: undefined } });
  if (event.type !== EventTypes.deviceEvent) {
    throw new MooringError('MOORING_INVALID_EVENT', `content-type takes ${EventTypes.deviceEvent}, not ${event.type}`);
  }
  const final = event.extensions[STAGE_EXTENSION] !== undefined ? { [STAGE_EXTENSION]: undefined } : undefined;
  if (event.data === undefined && event.datacontenttype === undefined) {
    return final ? withAttributes(event, { extensions: final }) : event;
  }
  const decision = resolveContentType(event.datacontenttype, event.data ?? new Uint8Array());
  if (!decision.ok) throw new MooringError('MOORING_REJECTED', `event ${event.id}: ${decision.message}`);
  if (decision.contentType === event.datacontenttype && !final) return event;
  return withAttributes(event, { datacontenttype: decision.contentType, ...(final ? { extensions: final } : {}) });
}

export const contentType: MooringFunction = {
  name: 'content-type',
  handle: (event) => applyContentType(event),
};

export default contentType;
