// The in-memory CloudEvent used everywhere in Mooring (CloudEvents 1.0).
// Data is always bytes: the bindings (HTTP binary mode, Kafka binary mode) carry it as the body
// unchanged, so no layer re-encodes a payload it does not need to read. Events are immutable by
// convention: derive a changed copy with `withAttributes`.

/** Extension attribute values allowed by CloudEvents: string, integer, boolean. */
export type ExtensionValue = string | number | boolean;

export interface CloudEvent {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  readonly time?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  /** The payload bytes (absent for an event without data). */
  readonly data?: Uint8Array;
  /** Extension attributes: names match `[a-z0-9]{1,20}`. */
  readonly extensions: Readonly<Record<string, ExtensionValue>>;
}

/** The context attributes defined by the CloudEvents spec (everything else is an extension). */
export const CORE_ATTRIBUTES = [
  'specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema',
] as const;

/** CloudEvents 1.0 §3.1.1 naming: lower-case a-z and digits; Mooring caps the length at 20. */
export const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

export function isValidExtensionName(name: string): boolean {
  return EXTENSION_NAME.test(name) && !(CORE_ATTRIBUTES as readonly string[]).includes(name) && name !== 'data';
}

/** Reads any attribute, core or extension, by its CloudEvents name (as Trigger filters do). */
export function getAttribute(event: CloudEvent, name: string): ExtensionValue | undefined {
  switch (name) {
    case 'specversion': return event.specversion;
    case 'id': return event.id;
    case 'source': return event.source;
    case 'type': return event.type;
    case 'subject': return event.subject;
    case 'time': return event.time;
    case 'datacontenttype': return event.datacontenttype;
    case 'dataschema': return event.dataschema;
    default: return event.extensions[name];
  }
}

export type EventChanges = Partial<Omit<CloudEvent, 'specversion' | 'extensions'>> & {
  extensions?: Record<string, ExtensionValue | undefined>;
};

/** A copy of `event` with some attributes changed; an extension set to undefined is removed. */
export function withAttributes(event: CloudEvent, changes: EventChanges): CloudEvent {
  // Hot (every event passes normalize and content-type): no rest copy of `changes`, no entry arrays.
  const extChanges = changes.extensions;
  let extensions = event.extensions;
  if (extChanges) {
    const merged: Record<string, ExtensionValue> = { ...event.extensions };
    for (const k in extChanges) {
      const v = extChanges[k];
      if (v === undefined) delete merged[k];
      else merged[k] = v;
    }
    extensions = merged;
  }
  return { ...event, ...changes, extensions } as CloudEvent;
}

/** The partition key that keeps per-device order (`partitionkey` extension), if any. */
export function partitionKey(event: CloudEvent): string | undefined {
  const k = event.extensions.partitionkey;
  return k === undefined ? undefined : String(k);
}
