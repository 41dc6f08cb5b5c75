import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import { createConnection, isIP } from 'node:net';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { HostPort } from '../config/types.js';
import type { HttpCheckSpec } from '../domain/zone.js';
import type { Clock } from '../lib/clock.js';
import { CheckFailure, settleOnce } from './outcome.js';
import type { CheckOutcome } from './outcome.js';

/** At most this much of a body is read for bodyMatch; the rest is not waited for. */
export const BODY_MATCH_LIMIT_BYTES = 64 * 1024;

const DAY_MS = 86_400_000;

/**
 * One GET over a fresh connection (no agent, no keep-alive), so each probe sees what a new client sees:
 * connect, TLS handshake, first byte. Resolves with the verdict on the status (and body);
 * rejects when the exchange itself fails. Aborting `signal` destroys the socket.
 */
export function httpCheck(endpoint: HostPort, check: HttpCheckSpec, clock: Clock, signal: AbortSignal): Promise<CheckOutcome> {
  let bodyPattern: RegExp | undefined;
  if (check.bodyMatch !== undefined) {
    try {
      bodyPattern = new RegExp(check.bodyMatch);
    } catch (err) {
      return Promise.reject(new CheckFailure(`invalid bodyMatch /${check.bodyMatch}/`, { cause: err }));
    }
  }
  const tls = check.protocol === 'https';
  const options: RequestOptions & HttpsRequestOptions = {
    host: endpoint.host,
    port: endpoint.port,
    method: 'GET',
    path: check.path,
    headers: { host: check.host, 'user-agent': 'dnsquorum-probe', accept: '*/*', connection: 'close' },
    // http connects its own socket: agent: false would build a throwaway Agent per probe, which
    // costs several percent of the prober's CPU at thousands of probes a second. https keeps the
    // agent, whose connect derives the SNI from the Host header when the check names none.
    ...(tls ? { agent: false, ...tlsOptions(check) } : { createConnection: () => createConnection({ host: endpoint.host, port: endpoint.port, noDelay: true }) }),
  };

  return new Promise<CheckOutcome>((resolve, reject) => {
    const finish = settleOnce(resolve, reject, () => {
      signal.removeEventListener('abort', onAbort);
      request.destroy();
    });
    const onAbort = (): void => {
      finish(new Error('aborted', { cause: signal.reason }));
    };
    // Errors between the TCP connect and the end of the handshake are reported as TLS errors
    // (bad certificate, wrong name, protocol mismatch); others as Node words them.
    let handshaking = false;

    const request: ClientRequest = (tls ? httpsRequest : httpRequest)(options);
    request.on('socket', (socket: Socket) => {
      if (!tls) return;
      socket.once('connect', () => {
        handshaking = true;
      });
      socket.once('secureConnect', () => {
        handshaking = false;
      });
    });
    request.on('error', (err) => {
      finish(handshaking ? new CheckFailure(`TLS: ${err.message}`, { cause: err }) : err);
    });
    request.on('response', (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      const certDaysLeft = tls ? daysUntilExpiry(response.socket, clock.now()) : undefined;
      const outcome = (ok: boolean, detail: string): CheckOutcome => (certDaysLeft === undefined ? { ok, detail } : { ok, detail, certDaysLeft });
      if (!check.expect.includes(status) || bodyPattern === undefined) {
        finish(outcome(check.expect.includes(status), `HTTP ${status}`));
        return;
      }
      const pattern = bodyPattern;
      readBodyPrefix(response, BODY_MATCH_LIMIT_BYTES).then(
        (body) => {
          const matched = pattern.test(body);
          finish(outcome(matched, matched ? `HTTP ${status}` : `HTTP ${status}, body did not match ${String(pattern)}`));
        },
        finish,
      );
    });

    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    request.end();
  });
}

function tlsOptions(check: HttpCheckSpec): HttpsRequestOptions {
  // RFC 6066 forbids an IP address as SNI (Node warns about it); without servername Node checks
  // the certificate against the connect address, which is what an IP "sni" means anyway.
  const sni = check.sni === '' || isIP(check.sni) !== 0 ? {} : { servername: check.sni };
  return { ...sni, rejectUnauthorized: check.tlsVerify };
}

/** Whole days until the peer certificate expires (negative once expired); undefined without one. */
function daysUntilExpiry(socket: Socket | null, now: number): number | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const validTo = Date.parse(socket.getPeerCertificate().valid_to);
  return Number.isNaN(validTo) ? undefined : Math.floor((validTo - now) / DAY_MS);
}

/** The first `limit` bytes of the body (less if it ends first), decoded as UTF-8. */
function readBodyPrefix(response: IncomingMessage, limit: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const done = (): void => {
      response.off('data', onData);
      resolve(Buffer.concat(chunks).subarray(0, limit).toString('utf8'));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= limit) done();
    };
    response.on('data', onData);
    response.once('end', done);
    // Node words a reset mid-body as "aborted", which would read like our own abort.
    response.on('error', (err: NodeJS.ErrnoException) => {
      reject(new CheckFailure(`connection lost while reading the body (${err.code ?? err.message})`, { cause: err }));
    });
    response.once('close', () => {
      if (!response.complete) reject(new CheckFailure('connection lost while reading the body'));
    });
  });
}
