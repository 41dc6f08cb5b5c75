/**
 * NS1 pages long listings with an RFC 8288 `Link` header: `Link: <https://...&after=x>; rel="next"`.
 * ns1-go follows it by default; ns1-python and octoDNS only when asked (octoDNS asks: zones page
 * at about 2,500 records).
 */

/** One link-value: the target as written and its parameters (names lowercased, quotes removed). */
export interface LinkValue {
  readonly target: string;
  readonly params: ReadonlyMap<string, string>;
}

/** Every link-value of a Link header, in order. Commas inside <...> or quotes do not split. */
export function parseLinkHeader(header: string): LinkValue[] {
  const links: LinkValue[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < header.length && /[\s,]/.test(header[i] ?? '')) i++;
  };
  for (;;) {
    skipSpace();
    if (i >= header.length) return links;
    if (header[i] !== '<') {
      // Not a link-value: skip to the next comma outside quotes.
      i = nextComma(header, i);
      continue;
    }
    const close = header.indexOf('>', i);
    if (close < 0) return links;
    const target = header.slice(i + 1, close).trim();
    i = close + 1;
    const params = new Map<string, string>();
    for (;;) {
      while (i < header.length && /\s/.test(header[i] ?? '')) i++;
      if (header[i] !== ';') break;
      i++;
      const name = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*/.exec(header.slice(i));
      if (name === null) {
        i = nextComma(header, i);
        break;
      }
      i += name[0].length;
      let value = '';
      if (header[i] === '=') {
        i++;
        while (i < header.length && /\s/.test(header[i] ?? '')) i++;
        if (header[i] === '"') {
          i++;
          while (i < header.length && header[i] !== '"') {
            if (header[i] === '\\') i++;
            value += header[i] ?? '';
            i++;
          }
          i++;
        } else {
          const token = /^[^;,\s]*/.exec(header.slice(i))?.[0] ?? '';
          value = token;
          i += token.length;
        }
      }
      const key = (name[1] ?? '').toLowerCase();
      if (!params.has(key)) params.set(key, value);
    }
    links.push({ target, params });
    i = nextComma(header, i);
  }
}

function nextComma(text: string, from: number): number {
  let quoted = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && quoted) i++;
    else if (c === ',' && !quoted) return i + 1;
  }
  return text.length;
}

/** The target of the first link whose rel (a space-separated list, any case) includes "next". */
export function nextLinkTarget(header: string | null): string | undefined {
  if (header === null || header.trim() === '') return undefined;
  return parseLinkHeader(header).find((link) => (link.params.get('rel') ?? '').toLowerCase().split(/\s+/).includes('next'))?.target;
}

export type NextPage = { readonly ok: true; readonly url: URL } | { readonly ok: false; readonly reason: string };

/**
 * Where the next page is, resolved against the page that named it. The API key goes with every
 * request, so a next page is only followed on the endpoint's own origin; like ns1-go, an http link
 * from an https endpoint is taken as https (NS1 behind a TLS-terminating proxy writes such links).
 */
export function resolveNextPage(target: string, current: URL, endpoint: URL): NextPage {
  let url: URL;
  try {
    url = new URL(target, current);
  } catch {
    return { ok: false, reason: `the Link header names "${target}", which is not a URL` };
  }
  if (endpoint.protocol === 'https:' && url.protocol === 'http:' && url.hostname === endpoint.hostname) {
    url.protocol = 'https:';
    if (url.port === '80') url.port = '';
  }
  if (url.origin !== endpoint.origin) {
    return { ok: false, reason: `the Link header sends the next page to ${url.origin}, not to the endpoint's ${endpoint.origin}; not followed (the API key goes with every request)` };
  }
  return { ok: true, url };
}
