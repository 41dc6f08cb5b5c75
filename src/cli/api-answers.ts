import { z } from 'zod';
import { overrideViewSchema } from '../control/overrides/wire.js';
import type { AuditAnswer, CreatedOverrideAnswer, OverrideAnswer, OverrideEffect, ReleasedAnswer } from '../control/overrides/wire.js';
import type { AuditEvent } from '../control/audit/log.js';

/**
 * Checks of the admin API's override, release and audit answers (the shapes in
 * control/override-wire.ts, whose overrideViewSchema they build on). Each schema is typed as the
 * wire type, so a change to the contract that this CLI does not follow fails to compile. Unknown
 * extra fields are allowed, so a newer daemon can add some.
 */

const epochMs = z.number().nonnegative();

export const createdOverrideAnswerSchema: z.ZodType<CreatedOverrideAnswer> = z.object({
  override: overrideViewSchema,
  replaced: z.string().nullable(),
  warnings: z.array(z.string()),
});

const overrideEffectSchema: z.ZodType<OverrideEffect> = z.object({
  expectation: z.string(),
  holds: z.boolean(),
  providers: z.array(
    z.object({
      provider: z.string(),
      holds: z.boolean(),
      servers: z.array(z.object({ host: z.string(), holds: z.boolean(), served: z.array(z.string()).nullable(), message: z.string().nullable() })),
      error: z.string().nullable(),
    }),
  ),
  checkedAt: epochMs,
});

export const overrideAnswerSchema: z.ZodType<OverrideAnswer> = z.object({
  override: overrideViewSchema,
  effect: overrideEffectSchema.nullable(),
});

export const releasedAnswerSchema: z.ZodType<ReleasedAnswer> = z.object({
  released: z.array(overrideViewSchema),
  // A daemon from before `ended` answers without it.
  ended: z.array(overrideViewSchema).default([]),
});

const auditEventSchema: z.ZodType<AuditEvent> = z.object({
  at: epochMs,
  region: z.string(),
  action: z.enum(['override', 'release', 'refused', 'expired', 'write']),
  actor: z.string(),
  token: z.string().nullable(),
  zone: z.string(),
  record: z.string().nullable(),
  type: z.string().nullable(),
  what: z.string(),
  why: z.string(),
  result: z.string(),
  overrideId: z.string().nullable(),
  provider: z.string().nullable(),
});

export const auditAnswerSchema: z.ZodType<AuditAnswer> = z.object({
  events: z.array(auditEventSchema),
});
