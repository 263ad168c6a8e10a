// Reading a Prometheus text exposition in the metrics tests.

/** `name{labels} value` lines of a Prometheus text exposition → value by `name{labels}`. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}
