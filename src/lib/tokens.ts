import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random bearer secret: 32 bytes (256 bits) from the CSPRNG, base64url. */
export function newToken(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** What the database stores of a bearer secret. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

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
