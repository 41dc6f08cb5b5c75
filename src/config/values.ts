import { isIPv4, isIPv6 } from 'node:net';
import { canonicalValue, fqdn } from '../domain/record.js';
import type { RecordType } from '../domain/record.js';
import type { HostPort } from './types.js';

/**
 * Checks of single values (addresses, names, ports, record data). Each returns the canonical
 * value or a reason that completes "<path>: ..." and quotes the offending text.
 */

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = <T>(reason: string): Checked<T> => ({ ok: false, reason });

/** Letters, digits, hyphens inside, and underscores (for _dmarc, _sip._tcp, DKIM selectors). */
const LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;

export function isIpv4(text: string): boolean {
  return isIPv4(text);
}

/** IPv6 in hex form only: embedded dotted quads and zone ids have no canonical DNS form here. */
export function isIpv6(text: string): boolean {
  return isIPv6(text) && !text.includes('.') && !text.includes('%');
}

function labelsValid(name: string, allowWildcard: boolean): boolean {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare === '' || bare.length > 253) return false;
  return bare.split('.').every((label, i) => LABEL.test(label) || (allowWildcard && i === 0 && label === '*'));
}

/**
 * A host name with at least two labels, trailing dot optional: "edge.example.net" or
 * "edge.example.net.". Single labels are refused because they are almost always a relative
 * name written by mistake.
 */
export function checkHostName(text: string): Checked<string> {
  if (!labelsValid(text, false)) return bad(`"${text}" is not a valid host name`);
  const bare = text.endsWith('.') ? text.slice(0, -1) : text;
  if (!bare.includes('.')) return bad(`"${text}" is not a fully qualified host name; write it in full, e.g. ${bare}.example.com.`);
  // No top-level domain is all digits: this is an address where a name belongs.
  if (/\.\d+$/.test(bare)) return bad(`"${text}" is an address, not a host name`);
  return ok(fqdn(text));
}

/** A zone name: one or more labels, returned as a lowercase FQDN. */
export function checkZoneName(text: string): Checked<string> {
  if (!labelsValid(text, false)) return bad(`"${text}" is not a valid zone name`);
  return ok(fqdn(text));
}

/**
 * A record name inside a zone: "@" for the apex, a relative name ("www", "a.b", "*.dev") or an
 * FQDN ending with a dot that lies inside the zone. Returns the lowercase FQDN.
 */
export function checkRecordName(text: string, zone: string): Checked<string> {
  if (text === '@') return ok(zone);
  if (!labelsValid(text, true)) return bad(`"${text}" is not a valid record name`);
  if (text.endsWith('.')) {
    const name = text.toLowerCase();
    if (name !== zone && !name.endsWith(`.${zone}`)) {
      return bad(`"${text}" is outside zone ${zone}; use a relative name or an FQDN ending in .${zone}`);
    }
    return ok(name);
  }
  const name = `${text.toLowerCase()}.${zone}`;
  if (name.length > 254) return bad(`"${text}" makes a name longer than 253 characters`);
  return ok(name);
}

export function checkPort(value: number, allowZero = false): Checked<number> {
  const min = allowZero ? 0 : 1;
  if (!Number.isInteger(value) || value < min || value > 65535) return bad(`port ${value} is out of range ${min}..65535`);
  return ok(value);
}

export interface HostPortRules {
  /** Only IP addresses as the host (no names). */
  readonly ipOnly?: boolean;
  /** Port 0 (the system picks a free port) is allowed: listen addresses. */
  readonly allowPortZero?: boolean;
}

/** "127.0.0.1:53", "[::1]:53" or "localhost:8053". IPv6 hosts come back without brackets. */
export function checkHostPort(text: string, rules: HostPortRules = {}): Checked<HostPort> {
  const example = rules.ipOnly ? '127.0.0.1:53 or [::1]:53' : '127.0.0.1:8053, [::1]:8053 or localhost:8053';
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return bad(`"${text}" is not host:port; write e.g. ${example}`);
  const v6 = m[1];
  const plain = m[2] ?? '';
  const port = checkPort(Number(m[3]), rules.allowPortZero);
  if (!port.ok) return bad(`"${text}": ${port.reason}`);
  if (v6 !== undefined) {
    if (!isIpv6(v6)) return bad(`"${text}": ${v6} is not an IPv6 address`);
    return ok({ host: canonicalValue('AAAA', v6), port: port.value });
  }
  if (isIPv4(plain)) return ok({ host: plain, port: port.value });
  if (isIPv6(plain)) return bad(`"${text}": write IPv6 addresses in brackets, e.g. [${plain}]:${port.value}`);
  if (rules.ipOnly) return bad(`"${text}": ${plain} is not an IP address`);
  if (!labelsValid(plain, false)) return bad(`"${text}": ${plain} is not a valid host name`);
  return ok({ host: plain.toLowerCase().replace(/\.$/, ''), port: port.value });
}

/** An http(s) URL. */
export function checkHttpUrl(text: string): Checked<string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return bad(`"${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return bad(`"${text}" must be an http:// or https:// URL`);
  if (url.username !== '' || url.password !== '') return bad('a URL must not carry credentials');
  return ok(text);
}

function checkUint(text: string, max: number, what: string): string | undefined {
  if (!/^\d+$/.test(text) || Number(text) > max) return `${what} "${text}" must be an integer 0..${max}`;
  return undefined;
}

/** A host in record data: a host name, or "." where the RFCs give it meaning (null MX, SRV). */
function checkTarget(text: string, allowRoot: boolean): string | undefined {
  if (allowRoot && text === '.') return undefined;
  const host = checkHostName(text);
  return host.ok ? undefined : host.reason;
}

const EXPECTED_FORM: Readonly<Record<string, string>> = {
  MX: '"preference host", e.g. "10 mail.example.com."',
  SRV: '"priority weight port target", e.g. "10 5 443 sip.example.com."',
  CAA: `'flags tag "value"', e.g. '0 issue "letsencrypt.org"'`,
};

/** Checks one value of a record of the given type and returns its canonical form. */
export function checkRecordValue(type: RecordType, text: string): Checked<string> {
  const value = text.trim();
  switch (type) {
    case 'A':
      return isIPv4(value) ? ok(canonicalValue(type, value)) : bad(`"${text}" is not an IPv4 address (A record)`);
    case 'AAAA':
      return isIpv6(value) ? ok(canonicalValue(type, value)) : bad(`"${text}" is not an IPv6 address in hex form (AAAA record)`);
    case 'CNAME':
    case 'NS':
    case 'PTR': {
      const host = checkHostName(value);
      return host.ok ? ok(canonicalValue(type, value)) : bad(`${host.reason} (${type} record)`);
    }
    case 'MX': {
      const parts = value.split(/\s+/);
      const [pref = '', host = ''] = parts;
      if (parts.length !== 2) return bad(`"${text}" must be ${EXPECTED_FORM.MX}`);
      const reason = checkUint(pref, 65535, 'MX preference') ?? checkTarget(host, true);
      return reason === undefined ? ok(canonicalValue(type, value)) : bad(reason);
    }
    case 'SRV': {
      const parts = value.split(/\s+/);
      const [prio = '', weight = '', port = '', target = ''] = parts;
      if (parts.length !== 4) return bad(`"${text}" must be ${EXPECTED_FORM.SRV}`);
      const reason =
        checkUint(prio, 65535, 'SRV priority') ??
        checkUint(weight, 65535, 'SRV weight') ??
        checkUint(port, 65535, 'SRV port') ??
        checkTarget(target, true);
      return reason === undefined ? ok(canonicalValue(type, value)) : bad(reason);
    }
    case 'CAA': {
      const m = /^(\d+)\s+([A-Za-z0-9]+)\s+("(?:[^"\\]|\\.)*"|[^\s"]+)$/.exec(value);
      if (m === null) return bad(`"${text}" must be ${EXPECTED_FORM.CAA}`);
      const reason = checkUint(m[1] ?? '', 255, 'CAA flags');
      return reason === undefined ? ok(canonicalValue(type, value)) : bad(reason);
    }
    case 'TXT':
      return ok(canonicalValue(type, text));
    case 'SOA':
      return bad('SOA records belong to the provider and cannot be declared');
  }
}
