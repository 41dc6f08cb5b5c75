import { describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../src/domain/change-set.js';
import { keyOf } from '../../src/domain/record.js';
import type { RecordSet } from '../../src/domain/record.js';
import { splitDrift } from '../../src/plan/drift.js';

const ZONE = 'example.com.';
const a = (name: string, value: string): RecordSet => ({ name: `${name}.${ZONE}`, type: 'A', ttl: 300, values: [value] });
const byKey = (...sets: RecordSet[]): Map<string, RecordSet> => new Map(sets.map((rs) => [keyOf(rs), rs]));
const names = (cs: ChangeSet): string[] => [...cs.creates, ...cs.updates.map((u) => u.after), ...cs.deletes].map((rs) => rs.name);

interface Case {
  name: string;
  changes: ChangeSet;
  desired: RecordSet[];
  converged: Map<string, RecordSet> | undefined;
  intended: string[];
  drift: string[];
}

const www = a('www', '192.0.2.1');
const wwwTampered = a('www', '203.0.113.9');
const api1 = a('api', '192.0.2.10');
const api2 = a('api', '198.51.100.20');
const stray = a('stray', '203.0.113.1');

const cases: Case[] = [
  {
    name: 'first pass after start: nothing is drift',
    changes: { zone: ZONE, creates: [www], updates: [], deletes: [] },
    desired: [www],
    converged: undefined,
    intended: [www.name],
    drift: [],
  },
  {
    name: 'a record changed behind our back while its desired value stayed: drift',
    changes: { zone: ZONE, creates: [], updates: [{ before: wwwTampered, after: www }], deletes: [] },
    desired: [www],
    converged: byKey(www),
    intended: [],
    drift: [www.name],
  },
  {
    name: 'a record deleted behind our back: drift',
    changes: { zone: ZONE, creates: [www], updates: [], deletes: [] },
    desired: [www],
    converged: byKey(www),
    intended: [],
    drift: [www.name],
  },
  {
    name: 'a failover decision since convergence: intended',
    changes: { zone: ZONE, creates: [], updates: [{ before: api1, after: api2 }], deletes: [] },
    desired: [api2],
    converged: byKey(api1),
    intended: [api2.name],
    drift: [],
  },
  {
    name: 'a record set that appeared (deleted under unmanaged: delete): drift',
    changes: { zone: ZONE, creates: [], updates: [], deletes: [stray] },
    desired: [www],
    converged: byKey(www),
    intended: [],
    drift: [stray.name],
  },
  {
    name: 'a fail-closed decision since convergence: intended',
    changes: { zone: ZONE, creates: [], updates: [], deletes: [api1] },
    desired: [],
    converged: byKey(api1),
    intended: [api1.name],
    drift: [],
  },
  {
    name: 'both at once are told apart',
    changes: { zone: ZONE, creates: [], updates: [{ before: api1, after: api2 }, { before: wwwTampered, after: www }], deletes: [] },
    desired: [api2, www],
    converged: byKey(api1, www),
    intended: [api2.name],
    drift: [www.name],
  },
];

describe('splitDrift', () => {
  it.each(cases)('$name', (c) => {
    const split = splitDrift(c.changes, c.desired, c.converged);
    expect(names(split.intended)).toEqual(c.intended);
    expect(names(split.drift)).toEqual(c.drift);
  });
});
