import { randomInt } from 'node:crypto';
import { isAppError } from '../../errors.js';
import type { UserRepository } from '../../storage/store.js';
import { normalizeUsername } from '../user-fields.js';

/**
 * A valid new username from a provider's hint ("Ada Lovelace" → "ada-lovelace",
 * "Zoë.B" → "zoe.b"), or null: accents dropped, other characters but
 * a-z 0-9 _ . - become "-", runs of punctuation become their first,
 * punctuation trimmed at both ends, at most 28 characters (room for a suffix).
 */
export function usernameFromHint(hint: string): string | null {
  const base = hint.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/([_.-])[_.-]+/g, '$1')
    .slice(0, 28)
    .replace(/^[_.-]+|[_.-]+$/g, '');
  if (base.length < 3) return null;
  try {
    return normalizeUsername(base);
  } catch (error) {
    if (isAppError(error)) return null;
    throw error;
  }
}

/**
 * The first free name of the hints (made valid), else with a suffix
 * ("ada-2" … "ada-9", then a random one), else "user-<random>". Free when
 * read; the insert's unique key settles a race.
 */
export async function pickUsername(users: UserRepository, hints: readonly string[]): Promise<string> {
  const bases = hints.map(usernameFromHint).filter((b): b is string => b !== null);
  const base = bases[0] ?? 'user';
  const candidates = [...new Set(bases), ...[2, 3, 4, 5, 6, 7, 8, 9].map((n) => `${base}-${n}`)];
  for (const name of candidates) {
    if (!(await users.findUserByUsername(name))) return name;
  }
  for (;;) {
    const name = `${base}-${randomInt(100_000, 1_000_000)}`;
    if (!(await users.findUserByUsername(name))) return name;
  }
}
