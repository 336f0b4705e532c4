import { gunzipSync, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';

// Raw access to bundle archives for tests that tamper with them: unpackBundle would refuse what they make.

/** The files of a .tar.gz by name, without any of unpackBundle's checks. */
export async function archiveEntries(archive: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.end(gunzipSync(archive));
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    files.set(entry.header.name, Buffer.concat(chunks));
  }
  return files;
}

/** A .tar.gz of the given files, as they are (no checksums added or fixed). */
export async function packArchive(files: Map<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of files) pack.entry({ name, size: body.length }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}
