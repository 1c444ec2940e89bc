import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { pagePolicy } from '../page-policy.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

interface Asset {
  readonly type: string;
  readonly body: Buffer;
  /** Served when the client accepts gzip (compressed once, at start). */
  readonly gzip: Buffer | null;
  readonly etag: string;
}

export interface DashboardFiles {
  readonly index: Asset;
  /** By file name under assets/ (content-hashed names, so cached for good). */
  readonly assets: ReadonlyMap<string, Asset>;
}

/** Where `npm run build` puts the dashboard (packages/dashboard/dist), or null if the package is not installed. */
export function dashboardDistDir(): string | null {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@sigil/dashboard/package.json')), 'dist');
  } catch {
    return null;
  }
}

function asset(path: string): Asset {
  const body = readFileSync(path);
  const type = TYPES[extname(path)] ?? 'application/octet-stream';
  const compressible = type.startsWith('text/') || type === 'image/svg+xml' || type === 'application/json';
  return { type, body, gzip: compressible ? gzipSync(body, { level: 9 }) : null, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** Reads the built dashboard into memory (a few hundred kB), or null when it was not built. */
export function loadDashboard(dir: string | null): DashboardFiles | null {
  if (dir === null || !existsSync(join(dir, 'index.html'))) return null;
  const assets = new Map<string, Asset>();
  const assetDir = join(dir, 'assets');
  if (existsSync(assetDir)) for (const name of readdirSync(assetDir)) assets.set(name, asset(join(assetDir, name)));
  return { index: asset(join(dir, 'index.html')), assets };
}

function send(request: FastifyRequest, reply: FastifyReply, file: Asset, cacheControl: string): FastifyReply {
  void reply.header('cache-control', cacheControl).header('etag', file.etag).header('vary', 'accept-encoding').type(file.type);
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  const accepts = request.headers['accept-encoding'] ?? '';
  if (file.gzip !== null && /\bgzip\b/.test(accepts)) return reply.header('content-encoding', 'gzip').send(file.gzip);
  return reply.send(file.body);
}

/**
 * `/_/`: the admin dashboard (packages/dashboard), built by `npm run build`
 * and served from memory. Without a build, `/_/` says how to make one.
 */
export function dashboardRoutes(app: FastifyInstance, { files }: { readonly files: DashboardFiles | null }): void {
  const notBuilt = (): never => {
    throw new AppError('unavailable', 'The dashboard is not built: run `npm run build` (npm start does it), then restart.');
  };
  const page = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (files === null) return notBuilt();
    void reply.header('content-security-policy', pagePolicy(request.headers.host)).header('x-frame-options', 'DENY');
    return send(request, reply, files.index, 'no-cache');
  };
  app.get('/_/', page);
  // Where password-reset mails link when PUBLIC_URL is this server: the same app, its reset form.
  app.get('/reset-password', page);
  // …and where verification mails link: its verify page.
  app.get('/verify-email', page);
  app.get<{ Params: { file: string } }>('/_/assets/:file', async (request, reply) => {
    if (files === null) return notBuilt();
    const file = files.assets.get(request.params.file);
    if (file === undefined) throw new AppError('not_found', 'No such dashboard file.');
    return send(request, reply, file, 'public, max-age=31536000, immutable');
  });
  app.get('/_', async (_request, reply) => reply.redirect('/_/', 301));
  // Someone opening the server's address in a browser meets the dashboard, not a JSON 404.
  app.get('/', async (_request, reply) => reply.redirect('/_/', 302));
}
