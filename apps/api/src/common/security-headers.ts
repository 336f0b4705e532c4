import helmet from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * Security headers on every response (helmet's set: nosniff, a referrer policy, HSTS, cross-origin isolation,
 * ...). Its default Content-Security-Policy already fits the two pages the service serves, Swagger UI at /docs
 * and bull-board at /admin/queues: their scripts are files of this origin, their inline `<style>`s and
 * `style=` attributes need `style-src 'unsafe-inline'`, Swagger UI's icons are `data:` images and bull-board
 * loads its fonts from Google over https. Changed from the defaults: no page of the service may be framed
 * (clickjacking), and no `upgrade-insecure-requests`, which would send a browser to https for the pages'
 * own scripts on a plain-http deployment (a laptop, a cluster-internal address) and break both.
 */
export async function registerSecurityHeaders(app: NestFastifyApplication): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: { 'frame-ancestors': ["'none'"], 'upgrade-insecure-requests': null },
    },
    frameguard: { action: 'deny' },
  });
}
