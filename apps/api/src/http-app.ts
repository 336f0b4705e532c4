import { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { AppConfig } from '@labelloop/config';
import { Metrics, PinoNestLogger } from '@labelloop/observability';
import type { Logger } from 'pino';
import { mountQueueDashboard } from './admin/queue-dashboard';
import { ErrorFilter } from './common/error.filter';
import { disconnectStalledUploads } from './common/stalled-uploads';
import { refuseUnstorableStrings } from './common/refuse-unstorable-strings';
import { registerSecurityHeaders } from './common/security-headers';
import { NDJSON } from './items/items.controller';
import { MODEL_BUNDLE_CONTENT_TYPES } from './models/model-bundles.service';

/**
 * Builds the Fastify-based Nest application for any role: every role serves
 * /health/* and /metrics; the api role adds /v1, the OpenAPI document at /docs
 * and the queue dashboard at /admin/queues.
 */
export async function createHttpApp(
  root: DynamicModule,
  config: AppConfig,
  logger: Logger,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: config.http.bodyLimitBytes, logger: false });
  const app = await NestFactory.create<NestFastifyApplication>(root, adapter, {
    logger: new PinoNestLogger(logger.child({ component: 'nest' })),
    abortOnError: false,
    // JSON bodies go through Fastify's own parser (same parser, limits and errors), which it builds once;
    // Nest's wrapper around it built the parser again for every request.
    bodyParser: false,
  });
  app.useBodyParser('application/x-www-form-urlencoded', { bodyLimit: config.http.bodyLimitBytes });
  const fastify = app.getHttpAdapter().getInstance();
  await registerSecurityHeaders(app);
  refuseUnstorableStrings(fastify);
  disconnectStalledUploads(fastify, config.http.bodyIdleTimeoutMs);
  // NDJSON imports are consumed as a stream by the handler, never buffered (and so not body-limited).
  fastify.addContentTypeParser(NDJSON, (_request, payload, done) => done(null, payload));
  // Model bundle imports arrive as the raw .tar.gz, buffered up to their own limit.
  fastify.addContentTypeParser(
    MODEL_BUNDLE_CONTENT_TYPES,
    { parseAs: 'buffer', bodyLimit: config.models.bundleMaxBytes },
    (_request, body, done) => done(null, body),
  );
  const metrics = app.get(Metrics);
  // A callback hook, not an async one: no promise per request for work that never waits.
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const ms = reply.elapsedTime;
    metrics.httpRequestDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      ms / 1000,
    );
    if (config.http.logRequests) {
      logger.info({ method: request.method, route, status: reply.statusCode, ms }, 'request');
    }
    done();
  });
  app.useGlobalFilters(new ErrorFilter(logger));
  if (config.role === 'api' || config.role === 'all') {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('labelloop')
        .setDescription(
          'Active-learning labeling service: projects, items, labeling tasks, annotations, stats.',
        )
        .setVersion('1')
        .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key' })
        .build(),
    );
    SwaggerModule.setup('docs', app, document);
    await mountQueueDashboard(app);
  }
  return app;
}
