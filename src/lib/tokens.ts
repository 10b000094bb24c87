import crypto, { createHash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

// CSPRNG bytes drawn a page at a time and handed out once each, as node's own randomUUID does:
// each randomBytes call costs ~2 µs however few bytes it returns, and a capture needs two draws
// (its token and its session id). A byte is never handed out twice; the page is refilled when spent.
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

/** The offset in `pool` of `n` (≤ POOL_BYTES) fresh random bytes, which the caller must copy out before the next draw. */
function drawFromPool(n: number): number {
  if (poolOffset + n > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += n;
  return at;
}

/** A random bearer secret: 32 bytes (256 bits) from the CSPRNG, base64url. */
export function newToken(prefix = ''): string {
  const at = drawFromPool(32);
  return prefix + pool.toString('base64url', at, at + 32);
}

/**
 * SHA-256 of UTF-8 text, as hex. crypto.hash (Node 20.12+) hashes in one call; a Hash object
 * costs ~1 µs more to build and finish (in-process; several times that inside the server).
 */
export const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'hex') : (text) => createHash('sha256').update(text, 'utf8').digest('hex');

/** What the database stores of a bearer secret. */
export function hashToken(token: string): string {
  return sha256Hex(token);
}

/**
 * What the database stores of an infobase lock's permission code: `s1$<salt>$<SHA-256 of salt and
 * code>`, never the code (a copy of the database must not hand it out). A per-lock random salt keeps
 * equal codes apart and precomputed tables useless; a short code can still be guessed offline from a
 * copy, so a long one is better. Not a slow hash: it is checked inside the capture's transaction.
 */
export function hashPermissionCode(code: string): string {
  const salt = randomBytes(16).toString('base64url');
  return `s1$${salt}$${sha256Hex(`${salt}$${code}`)}`;
}

/** Whether the code given at capture is the lock's (stored by hashPermissionCode), in constant time. */
export function permissionCodeMatches(code: string, stored: string): boolean {
  const m = STORED_CODE.exec(stored);
  return m !== null && constantTimeEqual(sha256Hex(`${m[1]}$${code}`), m[2]);
}

/** The whole shape hashPermissionCode writes (a code typed as "s1$…" is not one). */
export const STORED_CODE = /^s1\$([A-Za-z0-9_-]{22})\$([0-9a-f]{64})$/;

/** Compares two secrets without leaking where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

// Crockford-style alphabet without 0/O, 1/I/L, U: easy to read aloud and type.
const KEY_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A license key: 5 groups of 4 characters from a 30-letter alphabet ≈ 98 random bits. */
export function newLicenseKey(): string {
  const groups: string[] = [];
  const bytes = randomBytes(40);
  let i = 0;
  for (let g = 0; g < 5; g++) {
    let group = '';
    while (group.length < 4) {
      const b = bytes[i++ % bytes.length];
      // Rejection sampling keeps every letter equally likely (240 = 8 × 30).
      if (b < 240) group += KEY_ALPHABET[b % 30];
      if (i >= bytes.length) {
        randomBytes(40).copy(bytes);
        i = 0;
      }
    }
    groups.push(group);
  }
  return groups.join('-');
}

/**
 * A UUID whose first 48 bits are the time in ms (RFC 9562 version 7), the rest
 * random: session ids created one after another sort together, so each new one
 * goes to the end of the id index instead of a random page of it (a capture
 * writes fewer pages). An id names a session; the token is the secret.
 */
export function timeOrderedUuid(now: number): string {
  const b = Buffer.allocUnsafe(16);
  const at = drawFromPool(10);
  pool.copy(b, 6, at, at + 10);
  b.writeUIntBE(Math.max(0, Math.min(now, 2 ** 48 - 1)), 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
