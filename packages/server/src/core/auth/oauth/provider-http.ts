import { AppError } from '../../errors.js';
import { MAX_PROVIDER_RESPONSE_BYTES, PROVIDER_TIMEOUT_MS } from './identity-provider.js';

/** One request to a provider: its status and its body as text, within a timeout; a network failure is `unauthorized`. */
async function providerRequest(what: string, url: string, init: RequestInit): Promise<{ readonly res: Response; readonly text: string }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS) });
  } catch (cause) {
    throw new AppError('unauthorized', `The identity provider did not answer (${what}).`, { cause });
  }
  return { res, text: await res.text() };
}

/** `text` as JSON, or undefined when it is not JSON. */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const refused = (what: string, res: Response): AppError => new AppError('unauthorized', `The identity provider refused (${what}: HTTP ${res.status}).`);

/**
 * One request to a provider, answered with its JSON: a timeout, a size
 * bound, and every failure (network, status, not JSON) as
 * `AppError('unauthorized')` naming the provider but no secret.
 */
export async function providerJson(what: string, url: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const { res, text } = await providerRequest(what, url, init);
  if (text.length > MAX_PROVIDER_RESPONSE_BYTES) throw new AppError('unauthorized', `The identity provider's answer is too large (${what}).`);
  const body = parsed(text);
  if (!res.ok || typeof body !== 'object' || body === null || Array.isArray(body)) throw refused(what, res);
  return body as Record<string, unknown>;
}

/** Like providerJson, for answers that are JSON arrays (GitHub's /user/emails). */
export async function providerJsonArray(what: string, url: string, init: RequestInit = {}): Promise<unknown[]> {
  const { res, text } = await providerRequest(what, url, init);
  const body = text.length > MAX_PROVIDER_RESPONSE_BYTES ? undefined : parsed(text);
  if (!res.ok || !Array.isArray(body)) throw refused(what, res);
  return body as unknown[];
}

export const form = (fields: Record<string, string>): URLSearchParams => new URLSearchParams(fields);
