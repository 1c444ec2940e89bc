import { describe, expect, it } from 'vitest';
import { usernameFromHint } from './oauth-usernames.js';
import { checkRedirect } from './redirect-allow-list.js';
import { isCodeVerifier, isS256Challenge, s256, verifierMatches } from './pkce.js';

describe('usernameFromHint', () => {
  it.each([
    ['Ada Lovelace', 'ada-lovelace'],
    ['Zoë.B', 'zoe.b'],
    ['octo_Cat', 'octo_cat'],
    ['--root..', 'root'],
    ['a..b__c', 'a.b_c'],
    ['ro. .ot', 'ro.ot'],
    ['x'.repeat(40), 'x'.repeat(28)],
    ['名前', null],
    ['ab', null],
    ['', null],
  ])('%j → %j', (hint, expected) => {
    expect(usernameFromHint(hint)).toBe(expected);
  });
});

describe('checkRedirect', () => {
  const allowed = ['https://app.example.com', 'http://localhost:5173/auth/', 'https://api.example.com/_/'];
  it.each([
    'https://app.example.com/',
    'https://app.example.com/any/page?x=1',
    'http://localhost:5173/auth/done',
    'https://api.example.com/_/',
  ])('allows %s', (url) => {
    expect(checkRedirect(url, allowed)).toBe(new URL(url).toString());
  });
  it.each([
    'https://app.example.com.evil.example/',
    'http://app.example.com/',
    'https://app.example.com:8443/',
    'http://localhost:5173/other',
    'http://localhost:5173/auth/../other',
    'https://api.example.com/api/auth/me',
    'https://a@app.example.com/',
    'https://app.example.com/#frag',
    'javascript:alert(1)',
    '/relative',
    `https://app.example.com/${'x'.repeat(2100)}`,
  ])('refuses %s', (url) => {
    expect(() => checkRedirect(url, allowed)).toThrow(expect.objectContaining({ code: 'validation_failed' }) as Error);
  });
});

describe('PKCE', () => {
  it('is RFC 7636 S256 (appendix B)', () => {
    expect(s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(verifierMatches('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')).toBe(true);
    expect(verifierMatches('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')).toBe(false);
    expect(isS256Challenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')).toBe(true);
    expect(isS256Challenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=')).toBe(false);
    expect(isCodeVerifier('short')).toBe(false);
    expect(isCodeVerifier('a'.repeat(129))).toBe(false);
  });
});
