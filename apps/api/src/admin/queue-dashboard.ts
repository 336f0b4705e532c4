import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { JobQueues } from '@labelloop/queue';
import { ApiKeyService } from '../auth/api-key.service';
import { roleAtLeast } from '../auth/principal';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * The API key of a dashboard request: `Authorization: Bearer <key>` for scripts, or HTTP Basic with the key
 * as the password, because a browser re-sends Basic credentials on the dashboard's own XHR calls and never a
 * bearer header.
 */
export function dashboardApiKey(header: string | undefined): string | null {
  if (!header) return null;
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon >= 0 ? decoded.slice(colon + 1) : '';
  return password.length > 0 ? password : null;
}

/** bull-board at /admin/queues over every job queue, for admin keys only (Bearer or Basic, see above). */
export async function mountQueueDashboard(app: NestFastifyApplication): Promise<void> {
  const queues = app.get(JobQueues);
  const keys = app.get(ApiKeyService);
  const serverAdapter = new FastifyAdapter().setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: [queues.training, queues.scoring, queues.suspects].map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'labelloop queues' } },
  });
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(
    async (scope) => {
      scope.addHook('onRequest', async (request, reply) => {
        const key = dashboardApiKey(request.headers.authorization);
        const principal = key ? await keys.authenticate(key) : null;
        if (!principal) {
          await reply
            .code(401)
            .header('www-authenticate', 'Basic realm="labelloop queues", charset="UTF-8"')
            .send({
              statusCode: 401,
              error: 'Unauthorized',
              message:
                'the queue dashboard needs an admin API key (Bearer, or Basic with the key as password)',
            });
          return reply;
        }
        if (!roleAtLeast(principal.role, 'admin') || principal.projectId !== null) {
          await reply.code(403).send({
            statusCode: 403,
            error: 'Forbidden',
            message: 'the queue dashboard needs an unscoped admin API key',
          });
          return reply;
        }
      });
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: QUEUE_DASHBOARD_PATH },
  );
}
