import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { heartbeatSchema, parseHeartbeat } from '../../../src/routes/api/agent-schemas.js';

// parseHeartbeat is a hand-written pass in front of the heartbeat schema: it
// must answer exactly what the schema answers, for every body.

const iso = fc.constantFrom('2026-11-21T10:00:00.000Z', '2026-11-21T10:00Z', '2026-11-21T13:00:00+03:00', '2026-02-30T10:00:00Z', '2026-13-01T10:00:00Z', 'yesterday', '');
const text = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('', 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(512), 'x'.repeat(513), '😀'.repeat(300), '😀'.repeat(513)),
);
const num = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(0, -0, 100, 101, 1.5, -1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER, 1e300),
);
/** Any JSON value a sloppy agent might put in a field. */
const anyValue = fc.oneof(text, num, fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: anyValue });
const figure = fc.record({ current: maybe(num), total: maybe(num), extra: anyValue }, { requiredKeys: [] });
const metrics = fc.record({ cpuMs: maybe(figure), memoryBytes: maybe(figure), dataBytes: maybe(figure), calls: maybe(figure), dbmsBytes: maybe(figure), other: anyValue }, { requiredKeys: [] });
const pkg = fc.record(
  {
    id: maybe(fc.constantFrom('p-1', 'p-2', 'p-3', '', 'x'.repeat(65))),
    path: maybe(text),
    name: maybe(text),
    version: maybe(text),
    createdAt: maybe(iso),
    savedAt: maybe(iso),
    state: maybe(fc.constantFrom('running', 'idle', 'stopped')),
    progress: maybe(num),
    node: maybe(text),
    nodeStartedAt: maybe(iso),
    refs: maybe(fc.array(maybe(fc.constantFrom('/a.lgp', '/b.lgp', '')), { maxLength: 4 })),
    origin: maybe(fc.constantFrom('interactive', 'integrator', 'batch', 'robot')),
    unknown: anyValue,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  { weight: 1, arbitrary: anyValue },
  {
    weight: 9,
    arbitrary: fc.record(
      {
        sleeping: maybe(fc.boolean()),
        lastInputAt: maybe(iso),
        metrics: maybe(metrics),
        packages: maybe(fc.array(maybe(pkg), { maxLength: 4 })),
        acks: maybe(fc.array(maybe(fc.constantFrom('c-1', 'c-2', '', 'x'.repeat(65))), { maxLength: 3 })),
        unknown: anyValue,
      },
      { requiredKeys: [] },
    ),
  },
);

const typical = {
  sleeping: false,
  lastInputAt: '2026-11-21T10:00:00.000Z',
  metrics: { cpuMs: { current: 120, total: 98000 }, memoryBytes: { current: -1048576, total: 734003200 }, dataBytes: { total: 5242880 }, calls: { total: 311 }, dbmsBytes: { total: 2097152 } },
  packages: [
    { id: 'p-17', path: '/projects/sales.lgp', name: 'sales', version: '1.4.0', createdAt: '2026-11-20T10:00:00.000Z', savedAt: '2026-11-21T09:00:00.000Z', state: 'running', progress: 42, node: 'Join', nodeStartedAt: '2026-11-21T09:59:00.000Z', refs: ['/shared/lib.lgp', '/shared/lib.lgp'], origin: 'integrator' },
    { id: 'draft' },
  ],
  acks: ['cmd-1'],
};

describe('parseHeartbeat', () => {
  it('answers what the heartbeat schema answers, for generated bodies valid and not', () => {
    fc.assert(
      fc.property(body, (b) => {
        const ours = parseHeartbeat(b);
        const schema = heartbeatSchema.safeParse(b);
        expect(ours.success).toBe(schema.success);
        if (ours.success && schema.success) expect(ours.data).toStrictEqual(schema.data);
        if (!ours.success && !schema.success) expect(ours.error.issues).toStrictEqual(schema.error.issues);
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the common body without the schema, with the same result', () => {
    const spy = vi.spyOn(heartbeatSchema, 'safeParse');
    try {
      const ours = parseHeartbeat(typical);
      expect(spy).not.toHaveBeenCalled();
      expect(ours).toStrictEqual({ success: true, data: heartbeatSchema.parse(typical) });
      expect(parseHeartbeat({})).toStrictEqual({ success: true, data: { sleeping: false, acks: [] } });
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('leaves the schema to word the errors: a duplicate package id, a long name in emoji', () => {
    const dup = parseHeartbeat({ packages: [{ id: 'a' }, { id: 'a' }] });
    expect(dup.success).toBe(false);
    if (!dup.success) expect(dup.error.issues[0]).toMatchObject({ path: ['packages', 1, 'id'], message: 'api.v.duplicate_package' });
    // 300 emoji are 600 UTF-16 units but 300 characters: valid, decided by the schema.
    const emoji = parseHeartbeat({ packages: [{ id: 'a', name: '😀'.repeat(300) }] });
    expect(emoji.success).toBe(true);
  });
});
