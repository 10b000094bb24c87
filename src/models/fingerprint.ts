import { invalid } from '../lib/errors.js';
import { sha256Hex } from '../lib/tokens.js';

export interface Fingerprint {
  /** SHA-256 (hex) of the canonical form: the identity of a machine within a license. */
  hash: string;
  /** The canonical form: a JSON array of [key, value] pairs sorted by key, NFC-normalised. */
  canonical: string;
  /** The components as a JSON object (NFC-normalised), stored beside the hash for staff. */
  components: string;
}

/**
 * Identity of a fingerprint (PROTOCOL §1): the set of (key, value) pairs after
 * Unicode NFC normalisation, no trimming or case folding, key order irrelevant.
 * Two keys that become equal after normalisation are a bad request.
 */
export function fingerprintOf(components: Record<string, string>): Fingerprint {
  const pairs = new Map<string, string>();
  for (const [k, v] of Object.entries(components)) {
    const key = k.normalize('NFC');
    if (pairs.has(key)) throw invalid({ [`fingerprint.${k}`]: 'api.v.fingerprint_nfc' });
    pairs.set(key, v.normalize('NFC'));
  }
  // Sorted by UTF-16 code units: stable and the same in every JavaScript runtime.
  const keys = [...pairs.keys()].sort();
  // An array, not an object: JavaScript enumerates integer-like keys first, which would unsort them.
  const canonical = JSON.stringify(keys.map((k) => [k, pairs.get(k)!]));
  // fromEntries defines every key, "__proto__" too (an assignment would set the prototype instead).
  const obj = Object.fromEntries(keys.map((k) => [k, pairs.get(k)!]));
  return { hash: sha256Hex(canonical), canonical, components: JSON.stringify(obj) };
}

/** Entries kept by fingerprintOfCached; past it, the oldest goes (a Map keeps insertion order). */
export const CACHED_FINGERPRINTS = 4096;
const cached = new Map<string, Fingerprint>();

/**
 * fingerprintOf for a capture: a bound machine sends the same components, in the same order,
 * at every capture, so the answer is remembered by the components' JSON as received (key order
 * included: another order is another entry with the same answer). Only answers are kept; a
 * refusal (keys equal after NFC) is worked out, and thrown, every time.
 */
export function fingerprintOfCached(components: Record<string, string>): Fingerprint {
  const key = JSON.stringify(components);
  let fp = cached.get(key);
  if (fp === undefined) {
    fp = fingerprintOf(components);
    if (cached.size >= CACHED_FINGERPRINTS) cached.delete(cached.keys().next().value!);
    cached.set(key, fp);
  }
  return fp;
}

/** A short form of the hash for people (cabinet, monitor). */
export const shortHash = (hash: string) => hash.slice(0, 12);
