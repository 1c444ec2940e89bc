import { createSigil } from '../app.js';
import { createLogger } from '../logger.js';
import { parseFlags, type Command, configFromEnvironment } from './command.js';

const HELP = `Usage: sigil serve [--port N] [--host H]

Starts the Sigil server. Flags override PORT and HOST from the environment.
SIGTERM or SIGINT stops it gracefully: in-flight requests finish, then it exits 0.`;

export const serveCommand: Command = {
  name: 'serve',
  usage: 'serve [--port N] [--host H]',
  summary: 'start the server (the default command)',
  help: HELP,
  async run(args) {
    const { values } = parseFlags({ args, options: { port: { type: 'string' }, host: { type: 'string' } } });
    const config = configFromEnvironment({ PORT: values.port, HOST: values.host });
    const logger = createLogger({ level: config.logLevel });
    const sigil = await createSigil({ config, logger });

    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      sigil.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);

    try {
      await sigil.http.listen({ host: config.host, port: config.port });
    } catch (err) {
      await sigil.close();
      throw err;
    }
    const address = sigil.http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const database = sigil.store.dialect === 'sqlite' ? `SQLite in ${config.databaseUrl ?? config.dataDir}` : 'PostgreSQL';
    process.stdout.write(`Sigil listening on http://${host}:${port} (${database})\nDashboard: http://${host}:${port}/_/\n`);
    // Keep running until a signal arrives.
    return new Promise<number>(() => undefined);
  },
};
