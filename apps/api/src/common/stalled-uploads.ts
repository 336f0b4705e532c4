import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

function announcesBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * How much earlier than `idleMs` the cut is aimed. The setting is a promise to the operator ("closed within
 * this long of the last byte"), and a timer only ever fires late: by the event loop's lag under load (tens of
 * ms with a training beside it) and the time the byte spent in flight before we read it. Aiming a tenth early,
 * at most a second, keeps the close inside the promise while a client pausing for most of it is still served.
 */
export function cutAfterMs(idleMs: number): number {
  return idleMs - Math.min(1_000, idleMs / 10);
}

/**
 * Closes the connection of a client whose request body stops arriving mid-way (a stalled upload) within
 * `idleMs` of its last byte (cutAfterMs), so its import's transaction rolls back and its database connection is freed, instead of
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
  const cutMs = cutAfterMs(idleMs);
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
    if (idle >= cutMs) {
      raw.destroy(new Error(`request body idle for ${idle} ms (HTTP_BODY_IDLE_TIMEOUT_MS ${idleMs})`));
      return;
    }
    timer = setTimeout(check, cutMs - idle);
    timer.unref();
  };
  timer = setTimeout(check, cutMs);
  timer.unref();
  const stop = () => clearTimeout(timer);
  raw.once('end', stop);
  raw.once('close', stop);
}
