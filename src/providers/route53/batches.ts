import type { RecordSet, RecordType } from '../../domain/record.js';

/**
 * Route53 changes and how they are cut into ChangeResourceRecordSets requests. Pure.
 *
 * Limits of one request (Route53 developer guide, "Quotas"): at most 1,000 ResourceRecord
 * elements and at most 32,000 characters summed over all Value elements; for UPSERT each
 * ResourceRecord and each character counts twice (UPSERT is a DELETE and a CREATE inside).
 */

export const ROUTE53_MAX_BATCH_RECORDS = 1000;
export const ROUTE53_MAX_BATCH_VALUE_CHARS = 32_000;

export type ChangeAction = 'CREATE' | 'DELETE' | 'UPSERT';

/** A record set as a ChangeResourceRecordSets request carries it: encoded name, Route53 values. */
export interface WireRecordSet {
  readonly name: string;
  readonly type: RecordType;
  readonly ttl: number;
  readonly values: readonly string[];
}

export interface WireChange {
  readonly action: ChangeAction;
  readonly recordSet: WireRecordSet;
}

/**
 * One record set's share of a change set and the Route53 changes that carry it, in order:
 * create -> [CREATE after] (UPSERT after "already exists"), update -> [DELETE before, CREATE
 * after], delete -> [DELETE before]. An update's DELETE makes Route53 itself check, inside the
 * all-or-nothing batch, that the record set still holds `before`.
 */
export interface RecordOp {
  readonly kind: 'create' | 'update' | 'delete';
  /** Canonical FQDN. */
  readonly name: string;
  readonly type: RecordType;
  readonly before?: RecordSet;
  readonly after?: RecordSet;
  readonly changes: readonly WireChange[];
}

export interface BatchLimits {
  /** ResourceRecord elements per request (UPSERT counts twice). */
  readonly maxRecords: number;
  /** Characters of all Value elements per request (UPSERT counts twice). */
  readonly maxValueChars: number;
}

export interface Cost {
  readonly records: number;
  readonly chars: number;
}

export function changeCost(change: WireChange): Cost {
  const weight = change.action === 'UPSERT' ? 2 : 1;
  const chars = change.recordSet.values.reduce((sum, v) => sum + v.length, 0);
  return { records: weight * change.recordSet.values.length, chars: weight * chars };
}

export function opsCost(ops: readonly RecordOp[]): Cost {
  let records = 0;
  let chars = 0;
  for (const op of ops) {
    for (const change of op.changes) {
      const cost = changeCost(change);
      records += cost.records;
      chars += cost.chars;
    }
  }
  return { records, chars };
}

function fits(cost: Cost, limits: BatchLimits): boolean {
  return cost.records <= limits.maxRecords && cost.chars <= limits.maxValueChars;
}

function add(a: Cost, b: Cost): Cost {
  return { records: a.records + b.records, chars: a.chars + b.chars };
}

const KIND_ORDER: Readonly<Record<RecordOp['kind'], number>> = { delete: 0, update: 1, create: 2 };

/**
 * The ops of each name, deletes first: a CNAME deleted and an A created at the same name must go
 * in that order, in one request, or Route53 refuses the A (or the name is briefly missing).
 */
function groupByName(ops: readonly RecordOp[]): RecordOp[][] {
  const groups = new Map<string, RecordOp[]>();
  for (const op of ops) {
    const group = groups.get(op.name);
    if (group === undefined) groups.set(op.name, [op]);
    else group.push(op);
  }
  return [...groups.values()].map((group) => [...group].sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind]));
}

export type Packing = { readonly ok: true; readonly batches: RecordOp[][] } | { readonly ok: false; readonly tooLarge: RecordOp; readonly cost: Cost };

/**
 * Cuts ops into as few requests as the limits allow. All ops of one name share a request so that
 * no name goes missing between two requests. Names are independent of each other, so whole names
 * are packed by decreasing size (records or value characters, whichever is nearer its limit), each
 * into the least loaded request: in name order, a run of long TXT values closed requests on the
 * character limit with room left for records, and a 10,000-record zone took one request more than
 * it needs. Only a name
 * whose ops cannot fit in one request at all is split, op by op, in order, into requests of its own
 * (an op itself — e.g. an update's DELETE and CREATE — is never split). An op larger than a whole
 * request is reported, not sent.
 */
export function packBatches(ops: readonly RecordOp[], limits: BatchLimits): Packing {
  const bins: { ops: RecordOp[]; used: Cost }[] = [];
  const split: RecordOp[][] = [];
  const whole: { group: RecordOp[]; cost: Cost; size: number }[] = [];
  for (const group of groupByName(ops)) {
    const cost = opsCost(group);
    if (fits(cost, limits)) {
      whole.push({ group, cost, size: Math.max(cost.records / limits.maxRecords, cost.chars / limits.maxValueChars) });
      continue;
    }
    let current: RecordOp[] = [];
    let used: Cost = { records: 0, chars: 0 };
    for (const op of group) {
      const opCost = opsCost([op]);
      if (!fits(opCost, limits)) return { ok: false, tooLarge: op, cost: opCost };
      if (!fits(add(used, opCost), limits) && current.length > 0) {
        split.push(current);
        current = [];
        used = { records: 0, chars: 0 };
      }
      current.push(op);
      used = add(used, opCost);
    }
    if (current.length > 0) split.push(current);
  }
  // Largest first, each into the open request with the lowest load that takes it, starting from
  // as many requests as the totals need: long TXT values then spread over the requests instead of
  // filling the first ones to the character limit with room left for records.
  // Stable: groups of equal size keep their name order.
  whole.sort((a, b) => b.size - a.size);
  const total = whole.reduce((sum, w) => add(sum, w.cost), { records: 0, chars: 0 });
  const needed = Math.ceil(Math.max(total.records / limits.maxRecords, total.chars / limits.maxValueChars));
  for (let i = 0; i < needed; i++) bins.push({ ops: [], used: { records: 0, chars: 0 } });
  const load = (c: Cost): number => Math.max(c.records / limits.maxRecords, c.chars / limits.maxValueChars);
  for (const { group, cost } of whole) {
    let best: (typeof bins)[number] | undefined;
    for (const bin of bins) {
      if (fits(add(bin.used, cost), limits) && (best === undefined || load(bin.used) < load(best.used))) best = bin;
    }
    if (best === undefined) bins.push({ ops: [...group], used: cost });
    else {
      best.ops.push(...group);
      best.used = add(best.used, cost);
    }
  }
  return { ok: true, batches: [...bins.filter((b) => b.ops.length > 0).map((b) => b.ops), ...split] };
}

/** The Route53 changes of a batch, in request order. */
export function batchChanges(batch: readonly RecordOp[]): WireChange[] {
  return batch.flatMap((op) => op.changes);
}
