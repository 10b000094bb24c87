import { z } from 'zod';
import { isoTime, str, uint } from '../../middleware/api.js';

// Request bodies of the agent protocol (PROTOCOL §1–3). Unknown fields are
// stripped (z.object), types are strict: null is not "absent".

const MAX_INT = Number.MAX_SAFE_INTEGER;
/** Net memory may be negative (PROTOCOL §2 "Metrics"). */
const int = () => z.number().int().min(-MAX_INT).max(MAX_INT);
const nonEmpty = (max = 512) => str(max).refine((s) => s.length > 0, { message: 'must not be empty' });
const time = () => isoTime().transform((s) => Date.parse(s));
const codePoints = (s: string) => [...s].length;

export const fingerprintSchema = z
  .record(
    z.string().refine((k) => codePoints(k) >= 1 && codePoints(k) <= 64, { message: 'keys must be 1–64 characters' }),
    str(),
  )
  .refine((o) => Object.keys(o).length >= 1 && Object.keys(o).length <= 32, { message: 'must have 1–32 components' });

export const captureSchema = z.object({
  licenseKey: nonEmpty(),
  clientSessionId: nonEmpty(64).optional(),
  fingerprint: fingerprintSchema,
  machine: z.object({ hostname: str().optional(), os: str().optional(), ip: str().optional() }).optional(),
  client: z.object({ ip: str().optional(), hostname: str().optional() }).optional(),
  user: nonEmpty(),
  roles: z.array(z.enum(['admin', 'design', 'viewer', 'execute'])).max(16).optional(),
  infobase: z.object({ id: nonEmpty(), name: str().optional() }).optional(),
  connectionType: z.enum(['client', 'external', 'background', 'webservice']).default('client'),
  app: z.object({ name: str().optional(), version: str().optional() }).optional(),
  features: z.array(nonEmpty()).max(256).optional(),
  permissionCode: str().optional(),
});

const packageSchema = z.object({
  id: nonEmpty(64),
  path: str().optional(),
  name: str().optional(),
  version: str().optional(),
  createdAt: time().optional(),
  savedAt: time().optional(),
  state: z.enum(['running', 'idle']).default('idle'),
  progress: uint().max(100).optional(),
  node: str().optional(),
  nodeStartedAt: time().optional(),
  refs: z.array(nonEmpty()).max(256).default([]),
  origin: z.enum(['interactive', 'integrator', 'batch']).default('interactive'),
});

export const heartbeatSchema = z.object({
  sleeping: z.boolean().default(false),
  lastInputAt: time().optional(),
  metrics: z
    .object({
      cpuMs: z.object({ current: uint().optional(), total: uint().optional() }).optional(),
      memoryBytes: z.object({ current: int().optional(), total: int().optional() }).optional(),
      dataBytes: z.object({ total: uint().optional() }).optional(),
      calls: z.object({ total: uint().optional() }).optional(),
      dbmsBytes: z.object({ total: uint().optional() }).optional(),
    })
    .optional(),
  packages: z
    .array(packageSchema)
    .max(200)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((p, i) => {
        if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: 'duplicate package id' });
        seen.add(p.id);
      });
    })
    .transform((list) =>
      list.map((p) => ({
        id: p.id,
        path: p.path ?? null,
        name: p.name ?? null,
        version: p.version ?? null,
        createdAt: p.createdAt ?? null,
        savedAt: p.savedAt ?? null,
        state: p.state,
        progress: p.progress ?? null,
        node: p.node ?? null,
        nodeStartedAt: p.nodeStartedAt ?? null,
        refs: [...new Set(p.refs)],
        origin: p.origin,
      })),
    )
    .optional(),
  acks: z.array(nonEmpty(64)).max(1000).default([]),
});

export const featureSchema = z.object({ feature: nonEmpty() });

/** A feature named in a URL path (DELETE …/features/{feature}). */
export const featureParam = nonEmpty();
