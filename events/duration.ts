// ISO-8601 durations as milliseconds: Knative's delivery spec (backoffDelay, timeout) and the
// command TTL (`?ttl=PT1H`) read them. At the bottom layer so functions and connectors share one parser.

// ISO 8601 §4.4.3.2 duration, the subset Knative accepts for durations that mean a fixed time:
// P[nD]T[nH][nM][nS] (weeks too); years and months have no fixed length and are refused.
const ISO_DURATION = /^P(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;
const UNIT_MS = [604_800_000, 86_400_000, 3_600_000, 60_000, 1000] as const;

/** Milliseconds of an ISO-8601 duration (`PT0.2S`, `PT1M`, `P1DT2H`), or undefined if invalid. */
export function tryParseIsoDuration(text: string): number | undefined {
  const s = text.trim().toUpperCase();
  const m = ISO_DURATION.exec(s);
  if (!m || s === 'P' || s.endsWith('T')) return undefined;
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part.replace(',', '.')) * UNIT_MS[i]!;
  }
  return Math.round(ms);
}

/** Milliseconds of an ISO-8601 duration; throws naming the text when it does not parse. */
export function parseIsoDuration(text: string): number {
  const ms = tryParseIsoDuration(text);
  if (ms === undefined) throw new Error(`not an ISO-8601 duration: ${JSON.stringify(text)}`);
  return ms;
}

