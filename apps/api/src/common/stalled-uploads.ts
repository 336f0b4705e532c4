import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

function announcesBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Closes the connection of a client whose request body stops arriving mid-way (a stalled upload) `idleMs`
 * after its last byte, so its import's transaction rolls back and its database connection is freed, instead of
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
  let lastByte = Date.now();
  // The HTTP parser hands every body chunk to the request with push(): noting the time there gives the moment
  // of the last byte exactly, without a 'data' listener (which would start the stream flowing before the
  // handler reads it) and without a timer per chunk.
  const push = raw.push;
  raw.push = function (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding) {
    if (chunk !== null) lastByte = Date.now();
    return push.call(this, chunk, encoding);
  };
  let timer: NodeJS.Timeout;
  const check = () => {
    if (raw.complete) return;
    // Bytes waiting for the handler: the server is the slow side, not the client.
    if (raw.readableLength > 0) lastByte = Date.now();
    const idle = Date.now() - lastByte;
    if (idle >= idleMs) {
      raw.destroy(new Error(`request body idle for ${idleMs} ms`));
      return;
    }
    timer = setTimeout(check, idleMs - idle);
    timer.unref();
  };
  timer = setTimeout(check, idleMs);
  timer.unref();
  const stop = () => clearTimeout(timer);
  raw.once('end', stop);
  raw.once('close', stop);
}
