import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID: 48-bit millisecond time + 80 random bits, Crockford base32,
 * 26 characters. Lexicographic order follows creation time, which makes
 * ids usable as keyset cursors.
 */
export function newId(now: number = Date.now()): string {
  let time = now;
  const out = new Array<string>(26);
  for (let i = 9; i >= 0; i--) {
    out[i] = CROCKFORD[time % 32]!;
    time = Math.floor(time / 32);
  }
  const rnd = randomChunk();
  for (let i = 0; i < 16; i++) out[10 + i] = CROCKFORD[rnd[i]! % 32]!;
  return out.join('');
}

/** Random bytes are drawn 4 KiB at a time: one call to the system's generator per 256 ids instead of one per id. */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** 16 fresh random bytes (never handed out twice). */
function randomChunk(): Buffer {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const chunk = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  return chunk;
}
