// The topics of the MQTT integration (Drogue's mqtt-integration/src/service/session.rs):
// subscription filters `app/{app}` (aliases `a/`, `application/`), optionally behind
// `$share/{group}/` or `$shared/{group}/`; beyond Drogue, `app/{app}/{channel}` narrows to one
// channel (the event's `subject`). Command topics `command/{app}/{device}/{command}` (first level
// case-insensitive, exactly four levels).

export type FilterParse =
  | { ok: true; application: string; channel: string | undefined; group: string | undefined; topic: string }
  | { ok: false; reason: 'wildcard' | 'invalid' | 'empty' };

/** The first level of a stream filter (docs/asyncapi.yaml lists them; a test checks). */
export const APP_PREFIXES: ReadonlySet<string> = new Set(['app', 'a', 'application']);

/** A subscription filter; `topic` is what events are published on (the filter without `$share/…/`). */
export function parseStreamFilter(filter: string): FilterParse {
  if (filter === '') return { ok: false, reason: 'empty' };
  if (filter.includes('+') || filter.includes('#')) return { ok: false, reason: 'wildcard' };
  let group: string | undefined;
  let topic = filter;
  const levels = filter.split('/');
  if (levels[0] === '$share' || levels[0] === '$shared') {
    if (levels.length < 3 || levels[1] === '') return { ok: false, reason: 'invalid' };
    group = levels[1];
    levels.splice(0, 2);
    topic = levels.join('/');
  }
  if (levels.length < 2 || levels.length > 3 || !APP_PREFIXES.has(levels[0]!)) return { ok: false, reason: 'invalid' };
  const application = levels[1]!;
  const channel = levels[2];
  if (application === '' || channel === '') return { ok: false, reason: 'invalid' };
  return { ok: true, application, channel, group, topic };
}

/** `command/{app}/{device}/{command}`, or undefined. */
export function parseCommandTopic(topic: string): { application: string; device: string; command: string } | undefined {
  const levels = topic.split('/');
  if (levels.length !== 4 || levels[0]!.toLowerCase() !== 'command') return undefined;
  const [, application, device, command] = levels as [string, string, string, string];
  if (application === '' || device === '' || command === '') return undefined;
  return { application, device, command };
}
