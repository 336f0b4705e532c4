import type { Server } from 'node:http';
import { ConfigError, loadConfig, type AppConfig, type Role } from '@labelloop/config';
import { applyMigrations } from '@labelloop/db';
import { createLogger, HealthService } from '@labelloop/observability';
import { ApiKeyService } from '../../api/src/auth/api-key.service';
import { createHttpApp } from '../../api/src/http-app';
import { resolveInfrastructure } from './infrastructure';
import { RootModule } from './root.module';

/**
 * Starts one process in the given role (or LABELLOOP_ROLE): resolves PostgreSQL and
 * Redis, applies migrations, boots the role's modules and serves HTTP on PORT.
 * SIGTERM/SIGINT: readiness turns false, the server stops taking requests, work
 * in flight finishes, then the process exits.
 */
export async function start(roleOverride?: Role): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (roleOverride) config = { ...config, role: roleOverride };
  const logger = createLogger(config.logLevel, { role: config.role });
  const infrastructure = await resolveInfrastructure(config, logger);
  config = infrastructure.config;
  const migrations = await applyMigrations(config.database.url as string, undefined, (line) =>
    logger.info(line),
  );
  logger.info({ applied: migrations.applied.length }, 'database schema up to date');

  const app = await createHttpApp(RootModule.forRole(config, logger), config, logger);
  if (config.role === 'api' || config.role === 'all') {
    const generated = await app.get(ApiKeyService).bootstrapAdmin();
    if (generated) {
      // Printed once, on the first start, because it is stored only as a hash.
      process.stdout.write(
        `\n  labelloop: generated admin API key (shown once, store it now):\n\n    ${generated}\n\n`,
      );
    }
  }
  await app.listen(config.http.port, config.http.host);
  logger.info({ port: config.http.port, role: config.role }, 'labelloop listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Readiness turns false first and the server keeps serving for SHUTDOWN_DELAY_MS,
    // so load balancers stop sending traffic before the listener closes; close()
    // then waits for requests in flight.
    app.get(HealthService).markDraining();
    logger.info({ signal, delayMs: config.shutdownDelayMs }, 'draining');
    await new Promise((done) => setTimeout(done, config.shutdownDelayMs));
    // Keep-alive connections would hold close() open; drop each one as soon as it
    // has no request in flight.
    const server = app.getHttpServer() as Server;
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    await app.close();
    clearInterval(idleSweep);
    logger.info('stopped');
    await infrastructure.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
