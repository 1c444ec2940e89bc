import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface OidcProviderProcess {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), 'oidc-provider-process.mjs');

/** Spawns oidc-provider-process.mjs (a real OpenID Connect provider) with one client for `redirectUri`. */
export function startOidcProviderProcess(redirectUri: string, timeoutMs = 20_000): Promise<OidcProviderProcess> {
  const clientId = 'sigil-browser-test';
  const clientSecret = 'browser test secret';
  const child = spawn(process.execPath, [SCRIPT], {
    env: { ...process.env, NODE_ENV: 'test', OIDC_TEST_CLIENT_ID: clientId, OIDC_TEST_CLIENT_SECRET: clientSecret, OIDC_TEST_REDIRECT_URI: redirectUri },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`oidc-provider did not start: ${output}`)), timeoutMs);
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => reject(new Error(`oidc-provider exited with ${code}: ${output}`)));
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
      const issuer = /listening (\S+)/.exec(output)?.[1];
      if (issuer === undefined) return;
      clearTimeout(timer);
      resolvePromise({
        issuer, clientId, clientSecret, child,
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
