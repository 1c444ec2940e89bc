import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { openStore } from '../adapters/open-store.js';
import { systemClock } from '../core/clock.js';
import { createCollectionCatalog } from '../core/collections/collection-catalog.js';
import type { JsonObject } from '../core/collections/collection.js';
import { createCollectionService, type ApplyResult } from '../core/collections/collection-service.js';
import { relationsOf } from '../core/collections/relations.js';
import { createSchemaCompiler } from '../core/collections/schema-compiler.js';
import { isAppError, type AppError } from '../core/errors.js';
import { CliError, configFromEnvironment, parseFlags, type Command } from './command.js';
import { assertStorable } from '../core/records/storable-json.js';

const HELP = `Usage: sigil apply <file-or-dir> [--dry-run]

Creates or updates collections from JSON files, so they can live in your
app's repository. Each file holds one collection:

  { "name": "tasks", "schema": { "type": "object", ... },
    "rules": { "update": "owner" }, "indexes": [["done", "createdAt"]] }

A directory means every *.json file in it, in name order. The file is the
whole truth: omitted rules are the defaults, omitted indexes are none.
Checks are those of the HTTP API: a schema change that existing records do
not fit fails with the failing records, and that collection is left as it
was. Prints one line per collection; exits 1 if any failed.

  --dry-run   check everything, change nothing`;

type Line = { readonly label: string; readonly outcome: ApplyResult['outcome'] | 'failed'; readonly text: string };

export const applyCommand: Command = {
  name: 'apply',
  usage: 'apply <file-or-dir> [--dry-run]',
  summary: 'create or update collections from JSON files',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseFlags({ args, options: { 'dry-run': { type: 'boolean' } }, allowPositionals: true });
    if (positionals.length !== 1) throw new CliError('apply takes exactly one <file-or-dir>; see "sigil apply --help"');
    const dryRun = values['dry-run'] === true;
    const files = await jsonFiles(resolve(positionals[0]!));
    const config = configFromEnvironment();

    const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      const compiler = createSchemaCompiler();
      const catalog = createCollectionCatalog({ store, clock: systemClock, cacheTtlMs: 0, compiler });
      const collections = createCollectionService({ store, clock: systemClock, catalog, compiler });
      const seen = new Map<string, string>();
      let failed = 0;
      const declarations = inRelationOrder(await Promise.all(files.map(readDeclaration)));
      // A dry run creates nothing, so a relation may name a collection only declared in this run.
      const declared = new Set(declarations.flatMap((d) => (d.name === null ? [] : [d.name])));
      for (const declaration of declarations) {
        const line = await applyFile(declaration, seen, (definition) => collections.apply(definition, { dryRun, ...(dryRun ? { declared } : {}) }));
        if (line.outcome === 'failed') failed += 1;
        process.stdout.write(`${line.label}: ${line.text}\n`);
      }
      if (failed > 0) {
        process.stderr.write(`sigil: ${failed} of ${files.length} collection file(s) failed${dryRun ? ' the dry run' : ''}\n`);
        return 1;
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};

async function jsonFiles(target: string): Promise<string[]> {
  const info = await stat(target).catch(() => null);
  if (!info) throw new CliError(`${target} does not exist`);
  if (!info.isDirectory()) return [target];
  const names = (await readdir(target)).filter((n) => n.endsWith('.json')).sort();
  if (names.length === 0) throw new CliError(`no *.json files in ${target}`);
  return names.map((n) => join(target, n));
}

/** One collection file, read. */
interface Declaration {
  readonly file: string;
  readonly name: string | null;
  readonly definition: unknown;
  /** Why the file could not be read as JSON, if it could not. */
  readonly unreadable?: string;
}

async function readDeclaration(file: string): Promise<Declaration> {
  let definition: unknown;
  try {
    definition = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    return { file, name: null, definition: undefined, unreadable: err instanceof Error ? err.message : String(err) };
  }
  const name = typeof definition === 'object' && definition !== null && typeof (definition as { name?: unknown }).name === 'string' ? (definition as { name: string }).name : null;
  return { file, name, definition };
}

/**
 * The declarations in file order, except that a collection comes after the
 * collections its relations name (when they are declared here too), so one
 * run can create collections that reference each other in any file order.
 * Collections in a cycle of relations keep their file order (the first one
 * fails, naming the missing target: create it without the relation first).
 */
function inRelationOrder(declarations: readonly Declaration[]): Declaration[] {
  const byName = new Map(declarations.flatMap((d) => (d.name === null ? [] : [[d.name, d] as const])));
  const targets = (d: Declaration): string[] => {
    const schema = (d.definition as { schema?: unknown } | undefined)?.schema;
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return [];
    return relationsOf(schema as JsonObject).map((r) => r.collection).filter((name) => name !== d.name && byName.has(name));
  };
  const ordered: Declaration[] = [];
  const placed = new Set<Declaration>();
  const visiting = new Set<Declaration>();
  const place = (d: Declaration): void => {
    if (placed.has(d) || visiting.has(d)) return;
    visiting.add(d);
    for (const name of targets(d)) place(byName.get(name)!);
    visiting.delete(d);
    placed.add(d);
    ordered.push(d);
  };
  for (const d of declarations) place(d);
  return ordered;
}

async function applyFile(declaration: Declaration, seen: Map<string, string>, apply: (definition: unknown) => Promise<ApplyResult>): Promise<Line> {
  const { file, name, definition } = declaration;
  if (declaration.unreadable !== undefined) {
    return { label: basename(file), outcome: 'failed', text: `failed: not a readable JSON file (${declaration.unreadable})` };
  }
  const label = name ?? basename(file);
  if (name !== null) {
    const earlier = seen.get(name);
    if (earlier) return { label, outcome: 'failed', text: `failed: also declared in ${basename(earlier)}` };
    seen.set(name, file);
  }
  try {
    // The HTTP API refuses such text in every body; a file must not be a way around it.
    assertStorable(definition, 'The collection file');
    const result = await apply(definition);
    const version = result.outcome === 'unchanged' ? '' : ` (schema version ${result.collection.schemaVersion})`;
    return { label, outcome: result.outcome, text: `${result.outcome}${version}` };
  } catch (err) {
    if (!isAppError(err)) throw err;
    return { label, outcome: 'failed', text: `failed: ${reason(err)}` };
  }
}

/** One line: the message, then the first few problems. */
function reason(err: AppError): string {
  const failures = err.report?.failures.slice(0, 3).map((f) => `${f.id} ${f.errors.map((e) => `${e.path || '/'} ${e.message}`).join(', ')}`);
  const details = (err.details ?? []).slice(0, 3).map((d) => `${d.path || '/'} ${d.message}`);
  const listed = failures ?? details;
  const more = (err.report ? err.report.total : (err.details?.length ?? 0)) > listed.length ? '; …' : '';
  return `${err.code}: ${err.message}${listed.length > 0 ? ` ${listed.join('; ')}${more}` : ''}`;
}
