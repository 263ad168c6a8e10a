// Durations as the registry writes them for `spec.knative.endpoint.timeout`: ISO-8601 (`PT5S`,
// Knative's DeliverySpec style) or humantime (`5s`, `500ms`, `1m30s`, Drogue's style). A bare
// number is seconds. Parsed once when a sink is built, never per request.

import { tryParseIsoDuration } from '../knative/delivery.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const HUMAN_PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gy;

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text * 1000 : undefined;
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(s)) return Number(s) * 1000;
  if (s[0] === 'P' || s[0] === 'p') return tryParseIsoDuration(s);
  HUMAN_PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let match = HUMAN_PART.exec(s); match; match = HUMAN_PART.exec(s)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    end = HUMAN_PART.lastIndex;
    while (s[end] === ' ') end++;
    HUMAN_PART.lastIndex = end;
  }
  return end === s.length && end > 0 ? total : undefined;
}
