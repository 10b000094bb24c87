import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/errors.js';
import { licenseInputProblems, updateLicense } from '../../src/models/licenses.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { adminLicense, setupActor } from '../helpers/admin.js';

describe('license rules', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const fieldsOf = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(AppError);
    return (e as AppError).details.fields;
  };

  it('refuses a feature named twice (the same after NFC) rather than keeping one of its limits', async () => {
    expect(await fieldsOf(adminLicense(t, { features: ['export', 'report', 'report'] }))).toEqual({ 'features.2': 'api.v.duplicate_feature' });
    expect(await fieldsOf(adminLicense(t, { features: ['caf\u00e9', 'cafe\u0301'] }))).toEqual({ 'features.1': 'api.v.duplicate_feature' });
    expect(await fieldsOf(adminLicense(t, { features: ['caf\u00e9'], featureLimits: { 'caf\u00e9': 2, 'cafe\u0301': 5 } }))).toEqual({
      'featureLimits.cafe\u0301': 'api.v.duplicate_feature',
    });
    const lic = await adminLicense(t, { features: ['export'], featureLimits: { export: 2 } });
    expect(await fieldsOf(updateLicense(t.db, setupActor, lic.id, { features: ['export', 'export'] }, t.clock.now()))).toEqual({ 'features.1': 'api.v.duplicate_feature' });
  });

  it('names every problem of a whole license at once', () => {
    expect(
      Object.keys(
        licenseInputProblems({ clientId: 1, product: '', features: ['a', 'a'], featureLimits: { a: 0 }, maxHosts: -1, maxSessions: 2.5, selfResetQuota: -3 }),
      ).sort(),
    ).toEqual(['featureLimits.a', 'features.1', 'maxHosts', 'maxSessions', 'product', 'selfResetQuota']);
  });
});
