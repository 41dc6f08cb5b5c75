import { describe, expect, it } from 'vitest';
import type { RecordType } from '../../src/domain/record.js';
import { batchChanges, changeCost, opsCost, packBatches } from '../../src/providers/route53/batches.js';
import type { BatchLimits, ChangeAction, RecordOp, WireChange } from '../../src/providers/route53/batches.js';

function change(action: ChangeAction, name: string, type: RecordType, values: string[]): WireChange {
  return { action, recordSet: { name, type, ttl: 300, values } };
}

function createOp(name: string, values: string[], type: RecordType = 'A'): RecordOp {
  const after = { name, type, ttl: 300, values };
  return { kind: 'create', name, type, after, changes: [change('CREATE', name, type, values)] };
}

function updateOp(name: string, before: string[], after: string[], type: RecordType = 'A'): RecordOp {
  return {
    kind: 'update',
    name,
    type,
    before: { name, type, ttl: 300, values: before },
    after: { name, type, ttl: 300, values: after },
    changes: [change('DELETE', name, type, before), change('CREATE', name, type, after)],
  };
}

function deleteOp(name: string, values: string[], type: RecordType = 'A'): RecordOp {
  return { kind: 'delete', name, type, before: { name, type, ttl: 300, values }, changes: [change('DELETE', name, type, values)] };
}

const ROUTE53: BatchLimits = { maxRecords: 1000, maxValueChars: 32_000 };

function packed(ops: RecordOp[], limits: BatchLimits): RecordOp[][] {
  const result = packBatches(ops, limits);
  if (!result.ok) throw new Error(`unexpectedly too large: ${result.tooLarge.name}`);
  return result.batches;
}

describe('Route53 request cost', () => {
  it.each([
    ['CREATE counts each record and character once', change('CREATE', 'a.', 'A', ['192.0.2.1', '192.0.2.22']), { records: 2, chars: 19 }],
    ['DELETE counts once', change('DELETE', 'a.', 'A', ['192.0.2.1']), { records: 1, chars: 9 }],
    ['UPSERT counts every record and character twice', change('UPSERT', 'a.', 'A', ['192.0.2.1', '192.0.2.22']), { records: 4, chars: 38 }],
  ])('%s', (_case, c, cost) => {
    expect(changeCost(c)).toEqual(cost);
  });

  it('an update costs its old and its new values', () => {
    expect(opsCost([updateOp('a.', ['192.0.2.1', '192.0.2.2'], ['192.0.2.3'])])).toEqual({ records: 3, chars: 27 });
  });
});

describe('packing changes into requests', () => {
  it('2,500 single-value creates take ceil(2500/1000) requests of at most 1,000 records', () => {
    const ops = Array.from({ length: 2500 }, (_, i) => createOp(`r${i}.example.com.`, [`10.0.${Math.floor(i / 250)}.${i % 250}`]));
    const batches = packed(ops, ROUTE53);
    expect(batches).toHaveLength(3);
    for (const batch of batches) expect(opsCost(batch).records).toBeLessThanOrEqual(1000);
    expect(batches.flat()).toHaveLength(2500);
  });

  it('UPSERTs count double, so 600 of them need two requests', () => {
    const ops = Array.from({ length: 600 }, (_, i): RecordOp => {
      const name = `u${i}.example.com.`;
      return { ...createOp(name, ['192.0.2.1']), changes: [change('UPSERT', name, 'A', ['192.0.2.1'])] };
    });
    const batches = packed(ops, ROUTE53);
    const records = batches.map((b) => opsCost(b).records);
    expect(records).toHaveLength(2);
    expect(records.every((r) => r <= 1000)).toBe(true);
    expect(records.reduce((a, b) => a + b, 0)).toBe(1200);
  });

  it('stays under 32,000 characters of values', () => {
    const value = `"${'x'.repeat(253)}"`;
    const ops = Array.from({ length: 300 }, (_, i) => createOp(`t${i}.example.com.`, [value], 'TXT'));
    const batches = packed(ops, ROUTE53);
    for (const batch of batches) expect(opsCost(batch).chars).toBeLessThanOrEqual(32_000);
    expect(batches).toHaveLength(Math.ceil((300 * 255) / 32_000));
  });

  it('keeps the DELETE and CREATE of an update in one request, in that order', () => {
    const ops = [createOp('a.example.com.', ['192.0.2.1', '192.0.2.2']), updateOp('b.example.com.', ['192.0.2.3', '192.0.2.4'], ['192.0.2.5'])];
    const batches = packed(ops, { maxRecords: 3, maxValueChars: 32_000 });
    expect(batches.map((b) => b.map((op) => op.name)).sort()).toEqual([['a.example.com.'], ['b.example.com.']]);
    const b = batches.find((batch) => batch.some((op) => op.name === 'b.example.com.')) ?? [];
    expect(batchChanges(b).map((c) => c.action)).toEqual(['DELETE', 'CREATE']);
  });

  it('packs whole names largest first, so sizes that alternate in name order need no extra request', () => {
    // In name order 2, 3, 2, 3 records with room for 4: four requests; largest first: 3 | 3 | 2+2.
    const ops = [
      createOp('a.example.com.', ['192.0.2.1', '192.0.2.2']),
      createOp('b.example.com.', ['192.0.2.3', '192.0.2.4', '192.0.2.5']),
      createOp('c.example.com.', ['192.0.2.6', '192.0.2.7']),
      createOp('d.example.com.', ['192.0.2.8', '192.0.2.9', '192.0.2.10']),
    ];
    const batches = packed(ops, { maxRecords: 4, maxValueChars: 32_000 });
    expect(batches.map((b) => b.map((op) => op.name))).toEqual([['b.example.com.'], ['d.example.com.'], ['a.example.com.', 'c.example.com.']]);
  });

  it('keeps every op of one name in one request, deletes first (a CNAME replaced by an A)', () => {
    const ops = [createOp('x.example.com.', ['192.0.2.1']), createOp('a.example.com.', ['192.0.2.9']), deleteOp('x.example.com.', ['edge.example.net.'], 'CNAME')];
    const batches = packed(ops, { maxRecords: 2, maxValueChars: 32_000 });
    expect(batches).toHaveLength(2);
    const x = batches.find((b) => b.some((op) => op.name === 'x.example.com.')) ?? [];
    expect(x.map((op) => `${op.kind} ${op.type}`)).toEqual(['delete CNAME', 'create A']);
  });

  it('splits a name whose ops cannot share one request, op by op and deletes first', () => {
    const ops = [createOp('x.example.com.', ['192.0.2.1', '192.0.2.2']), deleteOp('x.example.com.', ['a.', 'b.'], 'NS')];
    const batches = packed(ops, { maxRecords: 3, maxValueChars: 32_000 });
    expect(batches.map((b) => b.map((op) => op.kind))).toEqual([['delete'], ['create']]);
  });

  it('reports an op that is larger than a whole request instead of sending it', () => {
    const big = updateOp('big.example.com.', ['192.0.2.1', '192.0.2.2'], ['192.0.2.3', '192.0.2.4']);
    const result = packBatches([createOp('a.example.com.', ['192.0.2.9']), big], { maxRecords: 3, maxValueChars: 32_000 });
    expect(result).toMatchObject({ ok: false, tooLarge: { name: 'big.example.com.' }, cost: { records: 4 } });
  });

  it('nothing to send is no request', () => {
    expect(packed([], ROUTE53)).toEqual([]);
  });
});
