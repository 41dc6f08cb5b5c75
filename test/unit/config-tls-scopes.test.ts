import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackHost, plainHttpExposures } from '../../src/config/exposure.js';
import { parseConfigText } from '../../src/config/load.js';
import { reloadBlockers } from '../../src/config/reload.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { ConfigError } from '../../src/lib/errors.js';
import { createTestCa } from '../helpers/tls-ca.js';
import type { IssuedCert, TestCa } from '../helpers/tls-ca.js';

/**
 * The config side of TLS and token scopes: api.tls (a readable, matching certificate and key,
 * checked at validate time with file:line:col), api.tokens entries with `scope`, cluster.ca (a
 * PEM bundle), what a reload may change of them, and which addresses get the plain-http warning.
 */

const ENV = { OPS_TOKEN: 'ops-token-value', VIEWER_TOKEN: 'viewer-token-value', SECRET: 'cluster-secret-value' };

let dir: string;
let ca: TestCa;
let leaf: IssuedCert;
let other: IssuedCert;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-config-tls-'));
  ca = await createTestCa('config test CA');
  [leaf, other] = await Promise.all([ca.issue('dq-a'), ca.issue('dq-b')]);
  await Promise.all([
    writeFile(join(dir, 'tls.crt'), leaf.cert),
    writeFile(join(dir, 'tls.key'), leaf.key),
    writeFile(join(dir, 'other.key'), other.key),
    writeFile(join(dir, 'ca.pem'), ca.cert),
    writeFile(join(dir, 'viewer.token'), 'viewer-from-file\n'),
    writeFile(join(dir, 'garbage.pem'), 'not a certificate\n'),
  ]);
});

afterAll(async () => {
  await ca.dispose();
  await rm(dir, { recursive: true, force: true });
});

function load(text: string): ResolvedConfig {
  return parseConfigText(text, join(dir, 'dq.yaml'), ENV);
}

/** Every problem as "line:col: message". */
function problems(text: string): string[] {
  try {
    load(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.line}:${i.col}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('api.tls', () => {
  it('keeps the paths, resolved against the config file, after checking the pair', () => {
    const config = load('region: r\napi:\n  tls: { cert: tls.crt, key: tls.key }\n');
    expect(config.api.tls).toEqual({ cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') });
  });

  it('is unset by default: plain http', () => {
    expect(load('region: r\n').api.tls).toBeUndefined();
  });

  it.each([
    ['tls: { cert: tls.crt, key: missing.key }', () => [`3:30: api.tls.key: cannot read ${join(dir, 'missing.key')}: no such file`]],
    ['tls: { cert: tls.crt, key: other.key }', () => [`3:8: api.tls: ${join(dir, 'tls.crt')} and ${join(dir, 'other.key')} are not a pair: the key is not the private key of the certificate (CN=dq-a)`]],
    ['tls: { cert: tls.key, key: tls.key }', () => [`3:16: api.tls.cert: ${join(dir, 'tls.key')} holds no PEM certificate (error:0480006C:PEM routines::no start line)`]],
    ['tls: { cert: tls.crt, key: tls.crt }', () => [expect.stringMatching(/^3:30: api\.tls\.key: .*tls\.crt holds no unencrypted PEM private key/) as unknown as string]],
    ['tls: { cert: tls.crt }', () => ['3:8: api.tls: key is required: the PEM private key file (unencrypted)']],
    ['tls: { cert: tls.crt, key: tls.key, ca: ca.pem }', () => ['3:39: api.tls.ca: unknown key; expected one of: cert, key']],
  ])('refuses %s at its position', (line, expected) => {
    expect(problems(`region: r\napi:\n  ${line}\n`)).toEqual(expected());
  });
});

describe('api.tokens scopes', () => {
  it('api.token and entries without a scope operate; scope: read reads; the secret comes from ${VAR} or a file', () => {
    const config = load(
      [
        'region: r',
        'api:',
        '  token: ${OPS_TOKEN}',
        '  tokens:',
        '    alice: ${OPS_TOKEN}',
        '    grafana: { token: "${VIEWER_TOKEN}", scope: read }',
        '    ci: { file: viewer.token, scope: read }',
        '    bob: { token: { file: viewer.token }, scope: operate }',
        '',
      ].join('\n'),
    );
    expect(Object.fromEntries(config.api.tokens)).toEqual({
      api: 'ops-token-value',
      alice: 'ops-token-value',
      grafana: 'viewer-token-value',
      ci: 'viewer-from-file',
      bob: 'viewer-from-file',
    });
    expect(Object.fromEntries(config.api.scopes)).toEqual({ api: 'operate', alice: 'operate', grafana: 'read', ci: 'read', bob: 'operate' });
  });

  it.each([
    ['grafana: { token: "${VIEWER_TOKEN}", scope: admin }', '5:49: api.tokens.grafana.scope: expected one of read, operate, found the string "admin"'],
    ['grafana: { token: "${VIEWER_TOKEN}", file: viewer.token }', '5:14: api.tokens.grafana: needs exactly one of token (a ${VAR} reference) or file (a path)'],
    ['grafana: { scope: read }', '5:14: api.tokens.grafana: needs exactly one of token (a ${VAR} reference) or file (a path)'],
    ['grafana: { token: literal, scope: read }', '5:23: api.tokens.grafana.token must come from an ${ENV} reference or { file: ... }, not the YAML itself'],
    ['grafana: { token: "${VIEWER_TOKEN}", scopes: read }', '5:42: api.tokens.grafana.scopes: unknown key; did you mean scope?'],
  ])('refuses %s', (entry, expected) => {
    expect(problems(`region: r\napi:\n  token: \${OPS_TOKEN}\n  tokens:\n    ${entry}\n`)).toEqual([expected]);
  });
});

describe('cluster.ca', () => {
  const cluster = (ca: string): string => `region: a\ncluster:\n  peers: [ { region: b, url: "https://127.0.0.1:9443" } ]\n  secret: \${SECRET}\n  ca: ${ca}\n`;

  it('keeps the bundle path, resolved against the config file', () => {
    expect(load(cluster('ca.pem')).cluster.ca).toBe(join(dir, 'ca.pem'));
    expect(load('region: a\n').cluster.ca).toBeUndefined();
  });

  it.each([
    ['missing.pem', () => `5:7: cluster.ca: cannot read ${join(dir, 'missing.pem')}: no such file`],
    ['garbage.pem', () => `5:7: cluster.ca: ${join(dir, 'garbage.pem')} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`],
  ])('refuses %s', (file, expected) => {
    expect(problems(cluster(file))).toEqual([expected()]);
  });
});

describe('reloading api.tls, scopes and cluster.ca', () => {
  const base = (api: string, ca = ''): string =>
    `region: a\napi:\n${api}\ncluster:\n  peers: [ { region: b, url: "https://127.0.0.1:9443" } ]\n  secret: \${SECRET}\n${ca}`;

  it('takes new scopes and new certificate paths in place; turning TLS on or off, or a new CA bundle, needs a restart', async () => {
    await Promise.all([writeFile(join(dir, 'renewed.crt'), leaf.cert), writeFile(join(dir, 'renewed.key'), leaf.key), writeFile(join(dir, 'ca2.pem'), ca.cert)]);
    const running = load(base('  tls: { cert: tls.crt, key: tls.key }\n  tokens: { grafana: "${VIEWER_TOKEN}" }', '  ca: ca.pem\n'));
    const renewed = load(base('  tls: { cert: renewed.crt, key: renewed.key }\n  tokens: { grafana: { token: "${VIEWER_TOKEN}", scope: read } }', '  ca: ca.pem\n'));
    expect(reloadBlockers(running, renewed)).toEqual([]);
    const plain = load(base('  tokens: { grafana: "${VIEWER_TOKEN}" }', '  ca: ca.pem\n'));
    expect(reloadBlockers(running, plain)).toEqual(['api.tls changed (the admin API listens with or without TLS); restart to apply it']);
    const otherCa = load(base('  tls: { cert: tls.crt, key: tls.key }\n  tokens: { grafana: "${VIEWER_TOKEN}" }', '  ca: ca2.pem\n'));
    expect(reloadBlockers(running, otherCa)).toEqual(['cluster.ca changed (peers are reached with the CA bundle read at start); restart to apply it']);
  });
});

describe('plain-http warnings', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', true],
    ['LOCALHOST.', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['dq-eu.example.net', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  const config = (api: string, peers: string): ResolvedConfig =>
    load(`region: a\napi: ${api}\ncluster:\n  peers:\n${peers}\n  secret: \${SECRET}\n  quorum: 2\n`);

  it('names the API listen address (with tokens, no TLS, not loopback) and each plain-http peer off loopback', () => {
    const exposures = plainHttpExposures(
      config(
        '{ listen: "0.0.0.0:8053", token: "${OPS_TOKEN}" }',
        [
          '    - { region: b, url: "http://dq-b.example.net:8053" }',
          '    - { region: c, url: "https://dq-c.example.net:8053" }',
          '    - { region: d, url: "http://127.0.0.1:8054" }',
          '    - { region: e, url: "http://[::1]:8055/dnsquorum/" }',
        ].join('\n'),
      ),
    );
    expect(exposures.map((e) => [e.what, e.address, e.region ?? null])).toEqual([
      ['api', '0.0.0.0:8053', null],
      ['peer', 'http://dq-b.example.net:8053', 'b'],
    ]);
    expect(exposures[0]?.message).toBe(
      'the admin API listens on plain http at 0.0.0.0:8053, which is not a loopback address: bearer tokens sent to it travel unencrypted; set api.tls, or listen on loopback behind a TLS proxy',
    );
    expect(exposures[1]?.message).toContain('peer b is reached over plain http at http://dq-b.example.net:8053, which is not a loopback address');
  });

  it('says nothing for an API on loopback, an API with api.tls, or an API without tokens', () => {
    const peers = '    - { region: b, url: "https://dq-b.example.net:8053" }';
    expect(plainHttpExposures(config('{ listen: "127.0.0.1:8053", token: "${OPS_TOKEN}" }', peers))).toEqual([]);
    expect(plainHttpExposures(config('{ listen: "0.0.0.0:8053", token: "${OPS_TOKEN}", tls: { cert: tls.crt, key: tls.key } }', peers))).toEqual([]);
    expect(plainHttpExposures(config('{ listen: "[::]:8053" }', peers))).toEqual([]);
  });
});
