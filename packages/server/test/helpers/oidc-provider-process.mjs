/**
 * A real OpenID Connect provider (the oidc-provider package) as its own
 * process on loopback, for browser tests: its development login and
 * consent pages sign in any login with any password, as an account whose
 * email (`<login>@idp.example`) is verified. One confidential client is
 * registered with the redirect URI it is given.
 *
 * Environment: OIDC_TEST_CLIENT_ID, OIDC_TEST_CLIENT_SECRET,
 * OIDC_TEST_REDIRECT_URI. Prints `listening <issuer>` once it serves.
 */
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_TEST_CLIENT_ID,
    client_secret: process.env.OIDC_TEST_CLIENT_SECRET,
    redirect_uris: [process.env.OIDC_TEST_REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name'] },
  // The claims of the scopes in the ID token itself (the relying party reads no userinfo).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['sigil-test-cookie-key'] },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@idp.example`, email_verified: true, preferred_username: id, name: `Test ${id}` };
      },
    };
  },
});
server.on('request', provider.callback());
process.stdout.write(`listening ${issuer}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
