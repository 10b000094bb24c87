import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { hashToken, newToken, sha256Hex, timeOrderedUuid } from '../../src/lib/tokens.js';

// Tokens and session ids draw their random bytes from one pooled page (src/lib/tokens.ts):
// enough draws to refill it many times over must never hand the same bytes out twice.
describe('random tokens and ids', () => {
  const DRAWS = 3000; // 3000 × (32 + 10) bytes: the 4 KB page is refilled about 30 times

  it('bearer tokens are 256-bit base64url secrets, all different, also across refills of the pool', () => {
    const tokens = Array.from({ length: DRAWS }, () => newToken());
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(tokens).size).toBe(DRAWS);
    expect(newToken('smt_')).toMatch(/^smt_[A-Za-z0-9_-]{43}$/);
  });

  it('no 8-byte run of random bytes appears twice among interleaved tokens and ids', () => {
    const seen = new Set<string>();
    const runs = (bytes: Buffer) => {
      for (let i = 0; i + 8 <= bytes.length; i += 8) {
        const run = bytes.subarray(i, i + 8).toString('hex');
        expect(seen.has(run)).toBe(false);
        seen.add(run);
      }
    };
    for (let i = 0; i < DRAWS; i++) {
      runs(Buffer.from(newToken(), 'base64url'));
      // The id's last 8 bytes are random apart from the variant's two bits.
      runs(Buffer.from(timeOrderedUuid(1_700_000_000_000 + i).replaceAll('-', ''), 'hex').subarray(8));
    }
  });

  it('session ids are version-7 UUIDs carrying their time, in the order they were made', () => {
    const now = Date.UTC(2026, 10, 21, 10, 0, 0);
    const ids = Array.from({ length: DRAWS }, (_, i) => timeOrderedUuid(now + i));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(ids[0].replace('-', '').slice(0, 12), 16)).toBe(now);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(DRAWS);
  });
});

// Stored hashes outlive the code that made them: a token saved before a change must still match after it.
describe('token hashes', () => {
  it('are SHA-256 of the UTF-8 text in lowercase hex, as the database has always stored them', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (const text of ['smt_' + newToken(), 'Ключ-лицензии', '🔑 key', 'a'.repeat(600)]) {
      expect(hashToken(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    }
  });
});
