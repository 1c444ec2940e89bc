import { describe, expect, it } from 'vitest';
import { createTwoFactorCrypto } from './two-factor-crypto.js';

describe('two-factor secret encryption', () => {
  const secret = 'JBSWY3DPEHPK3PXP';

  it('seals so that only the same user and a listed key open it', () => {
    const crypto = createTwoFactorCrypto(['first secret']);
    const sealed = crypto.seal('u1', secret);
    expect(sealed).toMatch(/^v1\.[0-9a-f]{8}\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain(secret);
    expect(crypto.seal('u1', secret)).not.toBe(sealed); // a fresh IV each time
    expect(crypto.open('u1', sealed)).toEqual({ plaintext: secret, current: true });
    expect(crypto.open('u2', sealed)).toBeNull();
    expect(createTwoFactorCrypto(['another secret']).open('u1', sealed)).toBeNull();
  });

  it('opens with every listed secret, and tells when the first did not seal it', () => {
    const old = createTwoFactorCrypto(['old secret']).seal('u1', secret);
    const rotated = createTwoFactorCrypto(['new secret', 'old secret']);
    expect(rotated.open('u1', old)).toEqual({ plaintext: secret, current: false });
    expect(rotated.open('u1', rotated.seal('u1', secret))).toEqual({ plaintext: secret, current: true });
    expect(createTwoFactorCrypto(['new secret']).open('u1', old)).toBeNull();
  });

  it('refuses tampered or malformed ciphertext', () => {
    const crypto = createTwoFactorCrypto(['s']);
    const sealed = crypto.seal('u1', secret);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 1;
    expect(crypto.open('u1', [parts[0], parts[1], parts[2], body.toString('base64url')].join('.'))).toBeNull();
    for (const bad of ['', 'v1', 'v2.' + parts.slice(1).join('.'), `v1.${parts[1]}.AAAA.${parts[3]}`, `v1.${parts[1]}.${parts[2]}.AAAA`]) {
      expect(crypto.open('u1', bad)).toBeNull();
    }
  });
});
