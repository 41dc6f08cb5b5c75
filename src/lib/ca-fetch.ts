import { Agent, request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

/**
 * A fetch for https URLs whose server certificates must chain to a given CA bundle (cluster.ca,
 * the CLI's --ca), instead of Node's default roots. Node 20's global fetch takes no CA: its
 * dispatcher option needs the undici package, whose Agent would have to match the undici inside
 * Node. node:https takes `ca` directly, so this is node:https behind fetch's signature, as far as
 * dnsquorum's callers use it: http: URLs go to the global fetch unchanged; the request body is sent
 * in one piece; the answer's body streams; a failure rejects like fetch does (a TypeError "fetch
 * failed" whose `cause` has the socket's or TLS's code, or the signal's reason when it aborts).
 * Redirects are never followed: `redirect: 'manual'` answers them as they come, any other mode
 * fails on one (dnsquorum's callers say 'error').
 */

export interface CaFetch {
  readonly fetch: typeof fetch;
  /** Closes the kept-alive connections (they never hold the process open). */
  close(): void;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

function answerHeaders(res: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] ?? '', raw[i + 1] ?? '');
  return headers;
}

export function caFetch(ca: string): CaFetch {
  const agent = new Agent({ ca, keepAlive: true });

  const fetchWithCa = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    // Without the signal: a Request follows it through a weak reference; the signal is used below.
    const prepared = new Request(input, init === undefined ? undefined : { ...init, signal: null });
    const url = new URL(prepared.url);
    if (url.protocol !== 'https:') return fetch(input, init);
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
    signal?.throwIfAborted();
    const body = prepared.body === null ? undefined : Buffer.from(await prepared.arrayBuffer());
    const headers: Record<string, string> = {};
    prepared.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (body !== undefined) headers['content-length'] = String(body.length);
    const redirect = init?.redirect ?? 'follow';

    return new Promise<Response>((resolve, reject) => {
      const req = request(url, { method: prepared.method, headers, agent });
      const onAbort = (): void => {
        req.destroy(signal?.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const detach = (): void => {
        signal?.removeEventListener('abort', onAbort);
      };
      req.once('error', (err) => {
        detach();
        // Aborted: err is what onAbort destroyed the request with, the signal's reason when it is an Error.
        reject(signal?.aborted === true ? err : fetchFailed(err));
      });
      req.once('response', (res) => {
        if (REDIRECT_STATUSES.has(res.statusCode ?? 0) && redirect !== 'manual') {
          detach();
          res.resume();
          reject(fetchFailed(new Error(`redirected to ${res.headers.location ?? 'nowhere'}; redirects are not followed`)));
          return;
        }
        // An abort after the headers ends the body stream with the abort's error, as with fetch.
        res.once('close', detach);
        const status = res.statusCode ?? 0;
        const stream = NULL_BODY_STATUSES.has(status) ? null : (Readable.toWeb(res) as NodeReadableStream<Uint8Array>);
        try {
          resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers: answerHeaders(res) }));
        } catch (err) {
          res.destroy();
          reject(fetchFailed(err));
        }
      });
      req.end(body);
    });
  };

  return {
    fetch: fetchWithCa,
    close: () => {
      agent.destroy();
    },
  };
}
