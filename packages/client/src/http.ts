import { errorFromResponse, SigilError, SigilNetworkError } from './errors.js';

/** The subset of `fetch` the client uses: pass any implementation with this shape. */
export type FetchLike = (input: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: unknown;
  readonly etag: string | null;
}

/** One JSON request and its answer; a non-2xx answer rejects with SigilError, no answer with SigilNetworkError. */
export class Http {
  constructor(
    readonly baseUrl: string,
    private readonly fetchImpl: FetchLike,
    private readonly timeoutMs: number,
  ) {}

  async send(request: HttpRequest, token: string | null): Promise<HttpResponse> {
    let url = this.baseUrl + request.path;
    if (request.query) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(request.query)) if (value !== undefined) params.set(key, value);
      const text = params.toString();
      if (text) url += `?${text}`;
    }
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (token) headers['authorization'] = `Bearer ${token}`;
    let body: string | undefined;
    if (request.body !== undefined) {
      headers['content-type'] = request.contentType ?? 'application/json';
      body = JSON.stringify(request.body);
    }
    let response: Awaited<ReturnType<FetchLike>>;
    let text: string;
    try {
      response = await this.fetchImpl(url, { method: request.method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(this.timeoutMs) });
      text = await response.text();
    } catch (cause) {
      throw new SigilNetworkError(`${request.method} ${request.path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (response.ok) throw new SigilError({ code: 'internal', message: `${request.method} ${request.path}: the answer is not JSON`, status: response.status });
      }
    }
    if (!response.ok) throw errorFromResponse(response.status, parsed, response.headers.get('retry-after'));
    return { status: response.status, body: parsed, etag: response.headers.get('etag') };
  }
}
