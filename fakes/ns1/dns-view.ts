import type { ZoneContents } from '../../src/dns/authority.js';
import type { RecordSet } from '../../src/domain/record.js';
import type { StoredAnswer, StoredRecord, StoredZone } from './state.js';

/**
 * What the fake's name servers answer: each NS1 record becomes one record set holding its
 * answers. Of NS1's filter chain only `up` and `select_first_n` are evaluated (the ones a
 * failover record needs); other filters pass every answer on. A CNAME serves its first answer,
 * as NS1 never hands out two. The SOA is built from the zone's settings and its serial.
 */

/** `meta.up` of an answer, else of its record: NS1 gives the answer's own metadata precedence. */
function upOf(answer: StoredAnswer, record: StoredRecord): unknown {
  return answer.meta !== undefined && Object.hasOwn(answer.meta, 'up') ? answer.meta.up : record.meta.up;
}

/** The answers a resolver is handed, after the filters the fake evaluates. */
export function servedAnswers(record: StoredRecord): StoredAnswer[] {
  let answers = [...record.answers];
  for (const filter of record.filters) {
    if (filter.disabled === true) continue;
    if (filter.filter === 'up') {
      // ns1-go's filter.go: "eliminates all answers where the 'up' metadata field is not true".
      answers = answers.filter((a) => upOf(a, record) === true);
    } else if (filter.filter === 'select_first_n') {
      const n = Number(filter.config.N ?? 1);
      if (Number.isInteger(n) && n > 0) answers = answers.slice(0, n);
    }
  }
  return record.type === 'CNAME' ? answers.slice(0, 1) : answers;
}

/** One answer in presentation form for src/dns: `10 mx.example.com`, `0 issue "ca.example"`. */
export function presentation(record: StoredRecord, answer: StoredAnswer): string {
  const fields = answer.answer.map(String);
  switch (record.type) {
    case 'CAA':
      return `${fields[0] ?? ''} ${fields[1] ?? ''} "${fields[2] ?? ''}"`;
    case 'MX':
    case 'SRV':
      return fields.join(' ');
    default:
      return fields[0] ?? '';
  }
}

/** "hostmaster@nsone.net" -> "hostmaster.nsone.net." (RFC 1035 RNAME). */
function rname(hostmaster: string): string {
  return `${hostmaster.replace('@', '.')}.`;
}

function soaOf(zone: StoredZone): RecordSet {
  const mname = `${zone.dnsServers[0] ?? `ns1.${zone.name}`}.`;
  return {
    name: `${zone.name}.`,
    type: 'SOA',
    ttl: zone.ttl,
    values: [`${mname} ${rname(zone.hostmaster)} ${zone.serial} ${zone.refresh} ${zone.retry} ${zone.expiry} ${zone.nx_ttl}`],
  };
}

export function servedZone(zone: StoredZone): RecordSet[] {
  const sets: RecordSet[] = [soaOf(zone)];
  for (const record of zone.records.values()) {
    const answers = servedAnswers(record);
    if (answers.length === 0) continue;
    sets.push({ name: `${record.domain}.`, type: record.type, ttl: record.ttl, values: answers.map((a) => presentation(record, a)) });
  }
  return sets;
}

export function dnsContents(zones: readonly StoredZone[]): ZoneContents {
  const contents: Record<string, { records: RecordSet[] }> = {};
  for (const zone of zones) contents[`${zone.name}.`] = { records: servedZone(zone) };
  return { zones: contents };
}
