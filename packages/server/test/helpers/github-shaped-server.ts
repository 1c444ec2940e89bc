/**
 * A GitHub-shaped OAuth2 server on a loopback port (for GITHUB_URL and
 * GITHUB_API_URL): /login/oauth/authorize signs in the test's user at once,
 * /login/oauth/access_token checks client, code (single use) and PKCE and
 * answers as GitHub does (200 with an `error` for a bad code), /user and
 * /user/emails answer for the token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GithubUser {
  readonly id: number;
  readonly login: string;
  readonly name?: string;
  readonly emails: readonly { readonly email: string; readonly primary: boolean; readonly verified: boolean }[];
}

export interface GithubShapedServer {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  user: GithubUser;
  close(): Promise<void>;
}

export async function startGithubShapedServer(): Promise<GithubShapedServer> {
  const codes = new Map<string, { user: GithubUser; challenge: string; redirectUri: string; used: boolean }>();
  const tokens = new Map<string, GithubUser>();
  let url = '';
  const gh: GithubShapedServer = {
    get url() {
      return url;
    },
    clientId: 'gh-client',
    clientSecret: 'gh-secret',
    user: { id: 1, login: 'octo', emails: [] },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', url);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (u.pathname === '/login/oauth/authorize') {
      const q = u.searchParams;
      if (q.get('client_id') !== gh.clientId || q.get('code_challenge_method') !== 'S256') return json(400, { error: 'bad request' });
      const code = randomBytes(10).toString('hex');
      codes.set(code, { user: gh.user, challenge: q.get('code_challenge') ?? '', redirectUri: q.get('redirect_uri') ?? '', used: false });
      const back = new URL(q.get('redirect_uri') ?? '');
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (u.pathname === '/login/oauth/access_token' && req.method === 'POST') {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const f = new URLSearchParams(text);
        const grant = codes.get(f.get('code') ?? '');
        if (f.get('client_id') !== gh.clientId || f.get('client_secret') !== gh.clientSecret) return json(200, { error: 'incorrect_client_credentials' });
        if (!grant || grant.used) return json(200, { error: 'bad_verification_code' });
        grant.used = true;
        if (createHash('sha256').update(f.get('code_verifier') ?? '').digest('base64url') !== grant.challenge) return json(200, { error: 'bad_verification_code' });
        const token = `gho_${randomBytes(10).toString('hex')}`;
        tokens.set(token, grant.user);
        json(200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
      });
      return;
    }
    const user = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!user) return json(401, { message: 'Bad credentials' });
    if (u.pathname === '/api/user') return json(200, { id: user.id, login: user.login, name: user.name ?? null });
    if (u.pathname === '/api/user/emails') return json(200, user.emails.map((e) => ({ ...e, visibility: null })));
    json(404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return gh;
}
