/** Where Label Studio serves task files: the `/setup` hostname and the access token it handed over. */
export interface LabelStudioHost {
  hostname: string | null;
  accessToken: string | null;
}

/** Largest image accepted from a task URL. */
export const IMAGE_MAX_BYTES = 10 * 1024 * 1024;
/** Time for one image download, connect to last byte. */
export const IMAGE_FETCH_TIMEOUT_MS = 10_000;

/** Why one task's image could not be had; the message is meant for the person reading LS's logs. */
export class ImageFetchError extends Error {}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

/**
 * The PNG/JPEG bytes behind a task's image value. Relative URLs (`/data/upload/...`) are resolved against
 * the LS hostname and sent with `Authorization: Token <access token>`; the token goes to that origin only,
 * never to a third-party URL. `data:` URIs are decoded. Size and time are bounded.
 */
export async function fetchTaskImage(value: unknown, host: LabelStudioHost): Promise<Uint8Array> {
  if (typeof value !== 'string' || value.trim() === '') throw new ImageFetchError('no image URL in the task');
  if (value.startsWith('data:')) return checkImage(decodeDataUri(value));
  const url = resolveUrl(value, host.hostname);
  const headers: Record<string, string> = {};
  if (host.accessToken && host.hostname && url.origin === new URL(host.hostname).origin) {
    headers.authorization = `Token ${host.accessToken}`;
  }
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(IMAGE_FETCH_TIMEOUT_MS) });
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${IMAGE_FETCH_TIMEOUT_MS} ms`
        : (error as Error).message;
    throw new ImageFetchError(`image ${url.href} could not be fetched: ${reason}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new ImageFetchError(`image ${url.href} could not be fetched: HTTP ${response.status}`);
  }
  return checkImage(await readCapped(response, url.href));
}

function resolveUrl(value: string, hostname: string | null): URL {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ImageFetchError(
        `image URL ${value} uses ${url.protocol}//, which labelloop cannot read: let Label Studio serve the file over http(s) (e.g. presigned cloud-storage URLs)`,
      );
    }
    return url;
  }
  if (!hostname) {
    throw new ImageFetchError(`image URL ${value} is relative and Label Studio sent no hostname in /setup`);
  }
  return new URL(value, hostname);
}

async function readCapped(response: Response, href: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > IMAGE_MAX_BYTES) {
    await response.body?.cancel();
    throw new ImageFetchError(`image ${href} is ${declared} bytes, over the limit of ${IMAGE_MAX_BYTES}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > IMAGE_MAX_BYTES) {
      await reader.cancel();
      throw new ImageFetchError(`image ${href} is over the limit of ${IMAGE_MAX_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function decodeDataUri(value: string): Uint8Array {
  const match = /^data:[^;,]*;base64,(.*)$/s.exec(value);
  if (!match) throw new ImageFetchError('a data: image URI must be base64-encoded');
  const bytes = Buffer.from(match[1], 'base64');
  if (bytes.length > IMAGE_MAX_BYTES)
    throw new ImageFetchError(`data: image is over ${IMAGE_MAX_BYTES} bytes`);
  return bytes;
}

function checkImage(bytes: Uint8Array): Uint8Array {
  const starts = (magic: number[]) => magic.every((byte, i) => bytes[i] === byte);
  if (!starts(PNG_MAGIC) && !starts(JPEG_MAGIC))
    throw new ImageFetchError('the file is not a PNG or JPEG image');
  return bytes;
}
