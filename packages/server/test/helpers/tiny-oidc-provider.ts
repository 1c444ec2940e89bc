/**
 * A tiny, hand-made OpenID Connect provider on a loopback port, over real
 * HTTP: discovery, JWKS, an authorization endpoint that signs in whoever the
 * test says at once, and a token endpoint that checks the client, the code
 * (single use) and PKCE, and answers an ID token signed as the test asks —
 * including wrongly (another key, another audience, expired, another
 * nonce), which a real provider never would.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export interface TinyUser {
  readonly sub: string;
  readonly email?: string;
  readonly email_verified?: boolean;
  readonly preferred_username?: string;
  readonly name?: string;
}

/** How the next ID token is made wrong. */
export interface Tampering {
  readonly otherKey?: boolean;
  readonly audience?: string;
  readonly nonce?: string;
  /** Seconds added to iat and exp (negative: in the past). */
  readonly shiftSeconds?: number;
  readonly alg?: 'none';
}

export interface TinyOidcProvider {
  /** The issuer, `http://127.0.0.1:<port>`. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Who the authorization endpoint signs in next. */
  user: TinyUser;
  /** Applied to every ID token until cleared. */
  tampering: Tampering;
  /** Overrides of the discovery document (e.g. another issuer). */
  discovery: Record<string, unknown>;
  /** Token requests answered so far, and those refused. */
  readonly tokenRequests: { readonly ok: boolean; readonly reason: string }[];
  close(): Promise<void>;
}

interface Grant { readonly user: TinyUser; readonly nonce: string; readonly challenge: string; readonly redirectUri: string; used: boolean }

async function bodyOf(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

export async function startTinyOidcProvider(opts: { readonly now: () => number; readonly clientId?: string; readonly clientSecret?: string }): Promise<TinyOidcProvider> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const grants = new Map<string, Grant>();
  const clientId = opts.clientId ?? 'sigil-test-client';
  const clientSecret = opts.clientSecret ?? 'sigil test secret';
  let issuer = '';

  async function idToken(grant: Grant, t: Tampering): Promise<string> {
    const now = Math.floor(opts.now() / 1000) + (t.shiftSeconds ?? 0);
    const claims: JWTPayload = { ...grant.user, nonce: t.nonce ?? grant.nonce };
    if (t.alg === 'none') {
      const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `${enc({ alg: 'none' })}.${enc({ ...claims, iss: issuer, aud: clientId, iat: now, exp: now + 300 })}.`;
    }
    const key: CryptoKey = t.otherKey ? other.privateKey : privateKey;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience(t.audience ?? clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(key);
  }

  const provider: TinyOidcProvider = {
    get issuer() {
      return issuer;
    },
    clientId,
    clientSecret,
    user: { sub: 'subject-1' },
    tampering: {},
    discovery: {},
    tokenRequests: [],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        code_challenge_methods_supported: ['S256'],
        ...provider.discovery,
      });
      return;
    }
    if (url.pathname === '/jwks') {
      json(200, { keys: [jwk] });
      return;
    }
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      const redirectUri = q.get('redirect_uri') ?? '';
      if (q.get('client_id') !== clientId || q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge') || !q.get('nonce')) {
        json(400, { error: 'invalid_request' });
        return;
      }
      const code = randomBytes(16).toString('hex');
      grants.set(code, { user: provider.user, nonce: q.get('nonce')!, challenge: q.get('code_challenge')!, redirectUri, used: false });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      void bodyOf(req).then(async (text) => {
        const form = new URLSearchParams(text);
        const refuse = (reason: string): void => {
          provider.tokenRequests.push({ ok: false, reason });
          json(400, { error: 'invalid_grant', error_description: reason });
        };
        const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret).replace(/%20/g, '+')}`).toString('base64')}`;
        if (req.headers.authorization !== basic) return refuse('client authentication');
        const grant = grants.get(form.get('code') ?? '');
        if (!grant) return refuse('unknown code');
        if (grant.used) return refuse('code reused');
        grant.used = true;
        if (form.get('redirect_uri') !== grant.redirectUri) return refuse('redirect_uri');
        const verifier = form.get('code_verifier') ?? '';
        if (createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) return refuse('pkce');
        provider.tokenRequests.push({ ok: true, reason: '' });
        json(200, { access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 300, id_token: await idToken(grant, provider.tampering) });
      });
      return;
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return provider;
}
