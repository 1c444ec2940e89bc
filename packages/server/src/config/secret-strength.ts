/**
 * A conservative check that a secret is not obviously guessable. True entropy
 * cannot be measured from one sample, so this rejects what is certainly weak:
 * short secrets, few distinct characters, repetition and dictionary words. A
 * secret from `openssl rand -base64 48` always passes.
 *
 * Returns null when acceptable, else a short reason.
 */
export function checkSecretStrength(secret: string): string | null {
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < 32) return `it is ${bytes} bytes; at least 32 are required`;
  const distinct = new Set(secret).size;
  if (distinct < 10) return `it uses only ${distinct} distinct characters`;
  if (estimateBits(secret) < 128) return 'it is too predictable (repeated or low-variety characters)';
  if (/(.{2,8})\1{3,}/.test(secret)) return 'it repeats a short pattern';
  if (/^(?:.*)(password|secret|changeme|example|123456|qwerty)(?:.*)$/i.test(secret) && distinct < 20) {
    return 'it is built from common words';
  }
  return null;
}

/** Shannon entropy of the character distribution times the length: an upper bound, good enough to reject junk. */
function estimateBits(secret: string): number {
  const counts = new Map<string, number>();
  const chars = [...secret];
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / chars.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * chars.length;
}
