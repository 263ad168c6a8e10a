// Media type helpers the event layer needs (structured mode decides `data` vs `data_base64`) and
// the content-type function shares: Drogue's notion of a JSON content type.

/**
 * `application/json*`, `text/json*` and `*+json` (Drogue's rule), matched case-insensitively on
 * the media type with parameters allowed (`application/vnd.x+json; charset=utf-8`).
 */
export function isJsonContentType(contentType: string): boolean {
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type.startsWith('application/json') || type.startsWith('text/json') || type.endsWith('+json');
}
