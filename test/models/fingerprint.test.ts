import { describe, expect, it } from 'vitest';
import { CACHED_FINGERPRINTS, fingerprintOf, fingerprintOfCached } from '../../src/models/fingerprint.js';
import { AppError } from '../../src/lib/errors.js';

// A fingerprint's hash is the stored identity of every bound host (hosts.fingerprint_hash): if it
// changed, every machine would bind anew after an upgrade. These values were made by the code that
// bound the hosts in use; any change to fingerprintOf must reproduce them.
describe('fingerprint identity', () => {
  it('is the SHA-256 of the sorted [key, value] pairs, whatever the key order', () => {
    const a = fingerprintOf({ cpu: 'BFEBFBFF000906EA', board: 'MB-1', disk: 'WD-2' });
    expect(a).toEqual({
      hash: 'ee2a2ad2eda905b56a22dd2cfc88e8e608df19c36ed4a6573224e52e0f6073c8',
      canonical: '[["board","MB-1"],["cpu","BFEBFBFF000906EA"],["disk","WD-2"]]',
      components: '{"board":"MB-1","cpu":"BFEBFBFF000906EA","disk":"WD-2"}',
    });
    expect(fingerprintOf({ disk: 'WD-2', cpu: 'BFEBFBFF000906EA', board: 'MB-1' })).toEqual(a);
  });

  it('sorts integer-like keys as text, normalises to NFC, keeps a "__proto__" key', () => {
    expect(fingerprintOf({ '10': 'a', '2': 'b', b: 'c', a: 'd' })).toEqual({
      hash: 'c8055a9d72a21e95481ff9fc855ffe0ba602e3473ba5a1a6af2ef910c1958b0c',
      canonical: '[["10","a"],["2","b"],["a","d"],["b","c"]]',
      components: '{"2":"b","10":"a","a":"d","b":"c"}',
    });
    // Decomposed é and ë (combining marks) become their precomposed forms.
    expect(fingerprintOf({ 'cafe\u0301': 'Zoe\u0308', ключ: 'значение' })).toEqual({
      hash: 'cc851ae522ec66e82f705178f0dd4ca29b961f30b2c288860b0d67aea85e53f4',
      canonical: '[["caf\u00e9","Zo\u00eb"],["ключ","значение"]]',
      components: '{"caf\u00e9":"Zo\u00eb","ключ":"значение"}',
    });
    expect(fingerprintOf({ 'caf\u00e9': 'Zo\u00eb', ключ: 'значение' }).hash).toBe('cc851ae522ec66e82f705178f0dd4ca29b961f30b2c288860b0d67aea85e53f4');
    expect(fingerprintOf(JSON.parse('{"__proto__": "x", "cpu": "y"}') as Record<string, string>)).toEqual({
      hash: '1d44283677b18e57c8aa9f95e3db507edfd1968e1bd7ec91cb4921f0d03a2c23',
      canonical: '[["__proto__","x"],["cpu","y"]]',
      components: '{"__proto__":"x","cpu":"y"}',
    });
  });

  it('refuses two keys that are one after NFC', () => {
    expect(() => fingerprintOf({ 'caf\u00e9': 'a', 'cafe\u0301': 'b' })).toThrow(AppError);
  });
});

describe('fingerprintOfCached (the capture path)', () => {
  it('answers what fingerprintOf answers, remembered by the components as received', () => {
    const components = { cpu: 'BFEBFBFF-cache-1', board: 'MB-cache', __proto__x: 'x' };
    const first = fingerprintOfCached(components);
    expect(first).toEqual(fingerprintOf(components));
    // The same components again (a new object, as every request parses its own): the same answer, remembered.
    expect(fingerprintOfCached(JSON.parse(JSON.stringify(components)))).toBe(first);
    // Another key order is another entry with the same identity.
    const reordered = fingerprintOfCached({ board: 'MB-cache', __proto__x: 'x', cpu: 'BFEBFBFF-cache-1' });
    expect(reordered).not.toBe(first);
    expect(reordered).toEqual(first);
    // A different value is a different machine.
    expect(fingerprintOfCached({ ...components, cpu: 'BFEBFBFF-cache-2' }).hash).not.toBe(first.hash);
  });

  it('refuses keys equal after NFC every time (a refusal is not remembered)', () => {
    const bad = { 'caf\u00e9': 'a', 'cafe\u0301': 'b' };
    expect(() => fingerprintOfCached(bad)).toThrow(AppError);
    expect(() => fingerprintOfCached(bad)).toThrow(AppError);
  });

  it('keeps a bounded number of answers, dropping the oldest', () => {
    const oldest = fingerprintOfCached({ cpu: 'evicted-first' });
    for (let i = 0; i < CACHED_FINGERPRINTS; i++) fingerprintOfCached({ cpu: `filler-${i}` });
    const again = fingerprintOfCached({ cpu: 'evicted-first' });
    expect(again).not.toBe(oldest); // worked out anew
    expect(again).toEqual(oldest);
    expect(fingerprintOfCached({ cpu: `filler-${CACHED_FINGERPRINTS - 1}` })).toBe(fingerprintOfCached({ cpu: `filler-${CACHED_FINGERPRINTS - 1}` }));
  });
});
