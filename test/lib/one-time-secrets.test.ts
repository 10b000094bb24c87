import { describe, expect, it } from 'vitest';
import { OneTimeSecrets } from '../../src/lib/one-time-secrets.js';

describe('one-time secrets', () => {
  it('give a secret once, to its owner, before it expires', () => {
    const s = new OneTimeSecrets(1000);
    s.put('login-a', '1', 'secret-1', 0);
    expect(s.take('login-b', '1', 10)).toBeUndefined();
    expect(s.take('login-a', '2', 10)).toBeUndefined();
    expect(s.take('login-a', '1', 10)).toBe('secret-1');
    expect(s.take('login-a', '1', 10)).toBeUndefined();

    s.put('login-a', '3', 'secret-3', 0);
    expect(s.take('login-a', '3', 1000)).toBeUndefined();
  });

  it('hold at most so many, dropping the oldest first', () => {
    const s = new OneTimeSecrets(1000, 2);
    s.put('a', '1', 'one', 0);
    s.put('a', '2', 'two', 500);
    s.put('a', '3', 'three', 600);
    expect(s.take('a', '1', 700)).toBeUndefined();
    expect(s.take('a', '2', 700)).toBe('two');
    expect(s.take('a', '3', 700)).toBe('three');
  });
});
