// CloudEvents `time` (RFC 3339) from a clock reading. Events made in the same millisecond share
// one string: at tens of thousands of events per second, formatting a Date for each one was a
// measurable share of the hot path. The result depends only on the argument.

let lastMs = Number.NaN;
let lastText = '';

/** `new Date(ms).toISOString()`, remembered for the last millisecond asked. */
export function rfc3339(ms: number): string {
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastText;
}
