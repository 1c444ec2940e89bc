import { AppError } from '../../errors.js';
import { MAX_PROVIDER_RESPONSE_BYTES, PROVIDER_TIMEOUT_MS } from './identity-provider.js';

/**
 * One request to a provider, answered with its JSON: a timeout, a size
 * bound, and every failure (network, status, not JSON) as
 * `AppError('unauthorized')` naming the provider but no secret.
 */
export async function providerJson(what: string, url: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS) });
  } catch (cause) {
    throw new AppError('unauthorized', `The identity provider did not answer (${what}).`, { cause });
  }
  const text = await res.text();
  if (text.length > MAX_PROVIDER_RESPONSE_BYTES) throw new AppError('unauthorized', `The identity provider's answer is too large (${what}).`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok || typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('unauthorized', `The identity provider refused (${what}: HTTP ${res.status}).`);
  }
  return body as Record<string, unknown>;
}

/** Like providerJson, for answers that are JSON arrays (GitHub's /user/emails). */
export async function providerJsonArray(what: string, url: string, init: RequestInit = {}): Promise<unknown[]> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS) });
  } catch (cause) {
    throw new AppError('unauthorized', `The identity provider did not answer (${what}).`, { cause });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text.length > MAX_PROVIDER_RESPONSE_BYTES ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok || !Array.isArray(body)) throw new AppError('unauthorized', `The identity provider refused (${what}: HTTP ${res.status}).`);
  return body as unknown[];
}

export const form = (fields: Record<string, string>): URLSearchParams => new URLSearchParams(fields);
