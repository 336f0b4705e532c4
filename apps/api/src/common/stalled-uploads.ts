import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** How often a body in progress is looked at: the cut comes between idleMs and idleMs * (1 + 1/CHECKS). */
const CHECKS_PER_TIMEOUT = 4;

function announcesBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Closes the connection of a client whose request body stops arriving mid-way (a stalled upload) after `idleMs`
 * without a byte, so its import's transaction rolls back and its database connection is freed, instead of
 * both waiting for a client that never comes back. It times idleness, not duration: an import that keeps
 * sending is never cut, however long it runs, and neither is one whose server side is the slow part (bytes
 * read but not yet taken by the handler mean the client is waiting for us). Fastify's own timeouts cannot
 * tell these apart: `connectionTimeout` also cuts a handler that works long after the body is in, and
 * `requestTimeout` bounds the whole upload.
 */
export function disconnectStalledUploads(fastify: FastifyInstance, idleMs: number): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (!request.raw.complete && announcesBody(request.raw)) watchBody(request.raw, idleMs);
    done();
  });
}

function watchBody(raw: IncomingMessage, idleMs: number): void {
  const socket = raw.socket;
  let bytesRead = socket.bytesRead;
  let lastProgress = Date.now();
  const timer = setInterval(() => {
    if (raw.complete) return stop();
    if (socket.bytesRead !== bytesRead || raw.readableLength > 0) {
      bytesRead = socket.bytesRead;
      lastProgress = Date.now();
    } else if (Date.now() - lastProgress >= idleMs) {
      stop();
      raw.destroy(new Error(`request body idle for ${idleMs} ms`));
    }
  }, idleMs / CHECKS_PER_TIMEOUT);
  timer.unref();
  const stop = () => clearInterval(timer);
  raw.once('end', stop);
  raw.once('close', stop);
}
