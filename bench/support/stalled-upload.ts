import { request } from 'node:http';

export interface StalledUpload {
  /** The server's answer, if it sent one before closing (e.g. 408); null if it only closed the connection. */
  status: number | null;
  /** Milliseconds from the stall (the last byte sent) until the server closed the connection; null past the cap. */
  closedAfterMs: number | null;
}

/**
 * A client that stalls mid-upload: POSTs `firstPart` as the start of a chunked body, then sends nothing more and
 * never ends it. `whileStalled` runs once the part is written (to look at the server meanwhile). Resolves when the
 * server closes the connection, or after `capMs` (then the client gives up and closes it itself).
 */
export function stallUpload(
  url: string,
  headers: Record<string, string>,
  firstPart: string,
  capMs: number,
  whileStalled: () => Promise<void> = async () => undefined,
): Promise<StalledUpload> {
  return new Promise((resolve, reject) => {
    // A connection of its own (agent: false), so the server's closing it is the server's doing.
    const upload = request(url, { method: 'POST', headers, agent: false });
    let status: number | null = null;
    let stalledAt = 0;
    let cap: NodeJS.Timeout | undefined;
    upload.on('response', (response) => {
      status = response.statusCode ?? null;
      response.resume();
    });
    // A reset or a refused write ends the upload as surely as a close.
    upload.on('error', () => undefined);
    upload.on('close', () => {
      clearTimeout(cap);
      const closedAfterMs = stalledAt === 0 ? 0 : performance.now() - stalledAt;
      resolve({ status, closedAfterMs: closedAfterMs >= capMs ? null : closedAfterMs });
    });
    upload.write(firstPart, () => {
      stalledAt = performance.now();
      cap = setTimeout(() => upload.destroy(), capMs);
      whileStalled().catch(reject);
    });
  });
}
