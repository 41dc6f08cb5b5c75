import { describe, expect, it } from 'vitest';
import { NONCE_HEADER, PeerVerifier, SIGNATURE_HEADER, TIME_HEADER, signPeerRequest } from '../../src/cluster/auth.js';
import type { PeerHeaders } from '../../src/cluster/auth.js';
import { parsePeerMessage } from '../../src/cluster/peer-route.js';
import { ManualClock } from '../../src/lib/clock.js';

const SECRET = 'cluster-secret-0123456789';
const BODY = JSON.stringify({ v: 1, region: 'eu-west', writer: true, seesQuorum: true, verdicts: [] });
const NOW = 1_700_000_000_000;
const MINUTE = 60_000;

function verifier(options: { windowMs?: number; maxNonces?: number } = {}): { verifier: PeerVerifier; clock: ManualClock } {
  const clock = new ManualClock(NOW);
  return { verifier: new PeerVerifier({ secret: SECRET, clock, ...options }), clock };
}

describe('signPeerRequest', () => {
  it('gives the time, a 16-byte hex nonce and a v1 HMAC-SHA256 signature', () => {
    const headers = signPeerRequest(SECRET, BODY, NOW);
    expect(headers[TIME_HEADER]).toBe(String(NOW));
    expect(headers[NONCE_HEADER]).toMatch(/^[0-9a-f]{32}$/);
    expect(headers[SIGNATURE_HEADER]).toMatch(/^v1=[0-9a-f]{64}$/);
  });

  it('draws a fresh nonce for every request', () => {
    expect(signPeerRequest(SECRET, BODY, NOW)[NONCE_HEADER]).not.toBe(signPeerRequest(SECRET, BODY, NOW)[NONCE_HEADER]);
  });
});

describe('PeerVerifier.verify', () => {
  const goodNonce = 'a'.repeat(32);
  const signed = (overrides: { secret?: string; body?: string; time?: number } = {}): Record<string, string> =>
    signPeerRequest(overrides.secret ?? SECRET, overrides.body ?? BODY, overrides.time ?? NOW, goodNonce);

  it.each<{ name: string; headers: () => PeerHeaders; body: string; expected: string }>([
    { name: 'a good signature', headers: () => signed(), body: BODY, expected: 'ok' },
    { name: 'the body changed after signing', headers: () => signed(), body: BODY.replace('true', 'false'), expected: 'bad-signature' },
    { name: 'another secret', headers: () => signed({ secret: 'another-secret' }), body: BODY, expected: 'bad-signature' },
    { name: 'the time changed after signing', headers: () => ({ ...signed(), [TIME_HEADER]: String(NOW + 1) }), body: BODY, expected: 'bad-signature' },
    { name: 'the nonce changed after signing', headers: () => ({ ...signed(), [NONCE_HEADER]: 'b'.repeat(32) }), body: BODY, expected: 'bad-signature' },
    { name: 'a sender clock 30 s ahead', headers: () => signed({ time: NOW + 30_000 }), body: BODY, expected: 'ok' },
    { name: 'a sender clock 30 s behind', headers: () => signed({ time: NOW - 30_000 }), body: BODY, expected: 'ok' },
    { name: 'a message signed 10 min ago', headers: () => signed({ time: NOW - 10 * MINUTE }), body: BODY, expected: 'stale' },
    { name: 'a message signed 10 min ahead', headers: () => signed({ time: NOW + 10 * MINUTE }), body: BODY, expected: 'stale' },
    { name: 'no headers', headers: () => ({}), body: BODY, expected: 'malformed' },
    { name: 'no signature', headers: () => ({ ...signed(), [SIGNATURE_HEADER]: undefined }), body: BODY, expected: 'malformed' },
    { name: 'no time', headers: () => ({ ...signed(), [TIME_HEADER]: undefined }), body: BODY, expected: 'malformed' },
    { name: 'no nonce', headers: () => ({ ...signed(), [NONCE_HEADER]: undefined }), body: BODY, expected: 'malformed' },
    { name: 'a time that is not a number', headers: () => ({ ...signed(), [TIME_HEADER]: 'yesterday' }), body: BODY, expected: 'malformed' },
    { name: 'a short nonce', headers: () => ({ ...signed(), [NONCE_HEADER]: 'abc' }), body: BODY, expected: 'malformed' },
    { name: 'an unknown signature version', headers: () => ({ ...signed(), [SIGNATURE_HEADER]: signed()[SIGNATURE_HEADER]?.replace('v1=', 'v2=') }), body: BODY, expected: 'malformed' },
    { name: 'a truncated signature', headers: () => ({ ...signed(), [SIGNATURE_HEADER]: signed()[SIGNATURE_HEADER]?.slice(0, 40) }), body: BODY, expected: 'malformed' },
    { name: 'a signature that is not hex', headers: () => ({ ...signed(), [SIGNATURE_HEADER]: `v1=${'z'.repeat(64)}` }), body: BODY, expected: 'malformed' },
    { name: 'a repeated header', headers: () => ({ ...signed(), [TIME_HEADER]: [String(NOW), String(NOW)] }), body: BODY, expected: 'malformed' },
  ])('$name → $expected', ({ headers, body, expected }) => {
    const result = verifier().verifier.verify(headers(), body);
    expect(result.ok ? 'ok' : result.reason).toBe(expected);
  });

  it('refuses the same nonce twice within the window, as replayed', () => {
    const { verifier: v, clock } = verifier();
    const headers = signPeerRequest(SECRET, BODY, NOW);
    expect(v.verify(headers, BODY)).toEqual({ ok: true });
    clock.advance(1_000);
    expect(v.verify(headers, BODY)).toEqual({ ok: false, reason: 'replayed' });
  });

  it('refuses a captured message replayed 10 min later as stale, though its nonce was forgotten', () => {
    const { verifier: v, clock } = verifier();
    const headers = signPeerRequest(SECRET, BODY, NOW);
    expect(v.verify(headers, BODY).ok).toBe(true);
    clock.advance(10 * MINUTE);
    v.verify(signPeerRequest(SECRET, BODY, clock.now()), BODY);
    expect(v.verify(headers, BODY)).toEqual({ ok: false, reason: 'stale' });
  });

  it('does not record the nonce of a badly signed message, so an attacker cannot burn nonces', () => {
    const { verifier: v } = verifier();
    const nonce = 'c'.repeat(32);
    expect(v.verify(signPeerRequest('attacker', BODY, NOW, nonce), BODY)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(v.rememberedNonces()).toBe(0);
    expect(v.verify(signPeerRequest(SECRET, BODY, NOW, nonce), BODY)).toEqual({ ok: true });
  });

  it('keeps at most maxNonces nonces, dropping the oldest first', () => {
    const { verifier: v } = verifier({ maxNonces: 10 });
    const first = signPeerRequest(SECRET, BODY, NOW);
    expect(v.verify(first, BODY).ok).toBe(true);
    for (let i = 0; i < 50; i++) {
      expect(v.verify(signPeerRequest(SECRET, BODY, NOW), BODY).ok).toBe(true);
      expect(v.rememberedNonces()).toBeLessThanOrEqual(10);
    }
    expect(v.rememberedNonces()).toBe(10);
    const latest = signPeerRequest(SECRET, BODY, NOW);
    expect(v.verify(latest, BODY).ok).toBe(true);
    expect(v.verify(latest, BODY)).toEqual({ ok: false, reason: 'replayed' });
  });

  it('forgets nonces once they are older than the window allows a message to be', () => {
    const { verifier: v, clock } = verifier({ windowMs: MINUTE });
    for (let i = 0; i < 5; i++) v.verify(signPeerRequest(SECRET, BODY, clock.now()), BODY);
    expect(v.rememberedNonces()).toBe(5);
    clock.advance(2 * MINUTE + 1);
    expect(v.verify(signPeerRequest(SECRET, BODY, clock.now()), BODY).ok).toBe(true);
    expect(v.rememberedNonces()).toBe(1);
  });
});

describe('parsePeerMessage', () => {
  const verdict = { endpointId: 'api.example.com. A 192.0.2.10', state: 'down', ageMs: 1200, reason: 'HTTP 503' };
  const message = { v: 1, region: 'eu-west', writer: true, seesQuorum: false, verdicts: [verdict], overrides: [] };

  it('accepts a well-formed message', () => {
    expect(parsePeerMessage(JSON.stringify(message))).toEqual({ ok: true, message });
  });

  it.each<{ name: string; body: string; where: string }>([
    { name: 'not JSON', body: '{"v":1,', where: 'JSON' },
    { name: 'another version', body: JSON.stringify({ ...message, v: 2 }), where: 'v' },
    { name: 'no region', body: JSON.stringify({ ...message, region: undefined }), where: 'region' },
    { name: 'writer not a boolean', body: JSON.stringify({ ...message, writer: 'yes' }), where: 'writer' },
    { name: 'a bad state', body: JSON.stringify({ ...message, verdicts: [{ ...verdict, state: 'sideways' }] }), where: 'verdicts.0.state' },
    { name: 'a negative age', body: JSON.stringify({ ...message, verdicts: [{ ...verdict, ageMs: -1 }] }), where: 'verdicts.0.ageMs' },
    { name: 'an age of a day', body: JSON.stringify({ ...message, verdicts: [{ ...verdict, ageMs: 86_400_000 }] }), where: 'verdicts.0.ageMs' },
    { name: 'a non-string endpoint', body: JSON.stringify({ ...message, verdicts: [{ ...verdict, endpointId: 7 }] }), where: 'verdicts.0.endpointId' },
    { name: 'a reason over 500 characters', body: JSON.stringify({ ...message, verdicts: [{ ...verdict, reason: 'x'.repeat(501) }] }), where: 'verdicts.0.reason' },
    { name: 'verdicts not an array', body: JSON.stringify({ ...message, verdicts: {} }), where: 'verdicts' },
    { name: 'too many verdicts', body: JSON.stringify({ ...message, verdicts: Array.from({ length: 100_001 }, () => verdict) }), where: 'verdicts' },
  ])('refuses $name, naming $where', ({ body, where }) => {
    const result = parsePeerMessage(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toContain(where);
  });
});
