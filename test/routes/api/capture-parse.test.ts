import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { captureSchema, parseCapture } from '../../../src/routes/api/agent-schemas.js';

// parseCapture is a hand-written pass in front of the capture schema: it must
// answer exactly what the schema answers, for every body.

// Mostly valid values, so that a good share of the bodies are valid and take the fast pass.
const edgeText = fc.constantFrom('', 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(512), 'x'.repeat(513), '😀'.repeat(300), '😀'.repeat(513), '\ud800', 'Пётр');
const text = fc.oneof({ weight: 8, arbitrary: fc.string({ maxLength: 8 }) }, { weight: 1, arbitrary: edgeText });
const num = fc.constantFrom(0, 1, -1, 1.5);
/** Any JSON value a sloppy agent might put in a field. */
const anyValue = fc.oneof(text, num, fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 20, arbitrary: arb }, { weight: 1, arbitrary: anyValue });
const oneOf = <T, R = unknown>(common: T[], rare: R[]) => fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...common) }, { weight: 1, arbitrary: fc.constantFrom(...rare) });
const ip = oneOf(['10.0.0.5', '::1', 'fe80::1'], ['999.1.1.1', 'host', '', '10.0.0.5 ']);
const fingerprintKey = oneOf<string, string>(['cpu', 'board', 'disk', 'mac', '1', '10', '__proto__', 'k'.repeat(64)], ['k'.repeat(65), '', 'ключ', '😀', '\ud800']);
const fingerprint = fc.oneof(
  { weight: 8, arbitrary: fc.dictionary(fingerprintKey, maybe(text), { minKeys: 1, maxKeys: 4 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      {},
      // The same key twice after NFC: é precomposed, then e + combining acute.
      { 'caf\u00e9': 'a', 'cafe\u0301': 'b' },
      JSON.parse('{"__proto__": "x", "cpu": "y"}') as Record<string, string>,
      Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v'])),
      Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])),
    ),
  },
);
const sub = (fields: Record<string, fc.Arbitrary<unknown>>) => fc.record({ ...fields, unknown: anyValue }, { requiredKeys: [] });
const body = fc.oneof(
  { weight: 1, arbitrary: anyValue },
  {
    weight: 9,
    arbitrary: fc.record(
      {
        licenseKey: maybe(oneOf(['LIC-1'], ['', 'k'.repeat(513)])),
        clientSessionId: maybe(oneOf(['c-1', 'c'.repeat(64)], ['', 'c'.repeat(65)])),
        fingerprint: maybe(fingerprint),
        machine: maybe(sub({ hostname: maybe(text), os: maybe(text), ip: maybe(ip) })),
        client: maybe(sub({ ip: maybe(ip), hostname: maybe(text) })),
        user: maybe(text),
        roles: maybe(fc.array(oneOf(['admin', 'design', 'viewer', 'execute'], ['root']), { maxLength: 3 })),
        infobase: maybe(fc.record({ id: maybe(text), name: maybe(text), unknown: anyValue }, { requiredKeys: ['id'] })),
        connectionType: maybe(oneOf(['client', 'external', 'background', 'webservice'], ['cli'])),
        app: maybe(sub({ name: maybe(text), version: maybe(text) })),
        features: maybe(fc.array(oneOf(['reports', 'export'], ['']), { maxLength: 3 })),
        permissionCode: maybe(text),
        unknown: anyValue,
      },
      { requiredKeys: ['licenseKey', 'fingerprint', 'user'] },
    ),
  },
);

const typical = {
  licenseKey: 'K7QX-2M4P-9TRW-HC3N-8BVD',
  clientSessionId: 'c-42',
  fingerprint: { cpu: 'BFEBFBFF000906EA', board: 'MB-1', disk: 'WD-2' },
  machine: { hostname: 'SRV-1', os: 'Windows Server 2022', ip: '10.0.0.5' },
  client: { ip: '10.0.0.9', hostname: 'PC-9' },
  user: 'Пётр',
  roles: ['viewer', 'viewer'],
  infobase: { id: 'ib-1', name: 'Accounting' },
  connectionType: 'external',
  app: { name: 'Payroll', version: '3.2.1' },
  features: ['reports'],
  permissionCode: '1234',
  somethingNew: { a: 1 },
};

describe('parseCapture', () => {
  it('answers what the capture schema answers, for generated bodies valid and not', () => {
    let valid = 0;
    fc.assert(
      fc.property(body, (b) => {
        const ours = parseCapture(b);
        const schema = captureSchema.safeParse(b);
        if (schema.success) valid++;
        expect(ours.success).toBe(schema.success);
        if (ours.success && schema.success) expect(ours.data).toStrictEqual(schema.data);
        if (!ours.success && !schema.success) expect(ours.error.issues).toStrictEqual(schema.error.issues);
      }),
      { numRuns: 3000 },
    );
    // Both kinds in good number (a generator that made no valid body would prove nothing).
    expect(valid).toBeGreaterThan(150);
    expect(valid).toBeLessThan(2700);
  });

  it('takes the common body without the schema, with the same result', () => {
    const spy = vi.spyOn(captureSchema, 'safeParse');
    try {
      const minimal = { licenseKey: 'K', fingerprint: { cpu: 'x' }, user: 'u' };
      for (const b of [typical, minimal]) expect(parseCapture(b)).toStrictEqual({ success: true, data: captureSchema.parse(b) });
      expect(spy).not.toHaveBeenCalled();
      expect(parseCapture(minimal)).toStrictEqual({ success: true, data: { ...minimal, connectionType: 'client' } });
    } finally {
      spy.mockRestore();
    }
  });

  it('leaves the schema to decide and word the rest: keys equal after NFC, a long name in emoji, a bad address', () => {
    const nfc = parseCapture({ licenseKey: 'K', fingerprint: { 'caf\u00e9': 'a', 'cafe\u0301': 'b' }, user: 'u' });
    expect(nfc.success).toBe(false);
    if (!nfc.success) expect(nfc.error.issues[0]).toMatchObject({ message: 'api.v.fingerprint_nfc' });
    // 300 emoji are 600 UTF-16 units but 300 characters: valid, decided by the schema.
    expect(parseCapture({ licenseKey: 'K', fingerprint: { cpu: 'x' }, user: '😀'.repeat(300) }).success).toBe(true);
    expect(parseCapture({ licenseKey: 'K', fingerprint: { ключ: 'x' }, user: 'u' }).success).toBe(true);
    const ip = parseCapture({ licenseKey: 'K', fingerprint: { cpu: 'x' }, user: 'u', machine: { ip: 'host' } });
    expect(ip.success).toBe(false);
    if (!ip.success) expect(ip.error.issues[0]).toMatchObject({ path: ['machine', 'ip'], message: 'api.v.ip' });
  });
});
