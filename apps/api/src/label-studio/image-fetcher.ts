import { readImageHeader } from '@labelloop/ml';

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

/**
 * The PNG/JPEG bytes behind a task's image value. Relative URLs (`/data/upload/...`) are resolved against
 * the LS hostname and sent with `Authorization: Token <access token>`; the token goes to that origin only.
 * An absolute URL is fetched only from the LS hostname's origin or one of `allowedOrigins`
 * (LABEL_STUDIO_IMAGE_ORIGINS): /webhook needs only the connector token, so any other URL would let its
 * holder make labelloop fetch internal addresses (loopback, cloud metadata, private networks). Redirects are
 * not followed for the same reason. `data:` URIs are decoded. Size and time are bounded.
 */
export async function fetchTaskImage(
  value: unknown,
  host: LabelStudioHost,
  allowedOrigins: readonly string[] = [],
): Promise<Uint8Array> {
  if (typeof value !== 'string' || value.trim() === '') throw new ImageFetchError('no image URL in the task');
  if (value.startsWith('data:')) return checkImage(decodeDataUri(value));
  const lsOrigin = hostnameOrigin(host.hostname);
  const url = resolveUrl(value, host.hostname);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ImageFetchError(
      `image URL ${value} uses ${url.protocol}//, which labelloop cannot read: let Label Studio serve the file over http(s) (e.g. presigned cloud-storage URLs)`,
    );
  }
  if (url.origin !== lsOrigin && !allowedOrigins.includes(url.origin)) {
    throw new ImageFetchError(
      `image URL ${url.href} is not on Label Studio's host (${lsOrigin ?? 'no hostname sent in /setup'}): ` +
        `labelloop fetches other origins only when LABEL_STUDIO_IMAGE_ORIGINS lists them`,
    );
  }
  const headers: Record<string, string> = {};
  if (host.accessToken && url.origin === lsOrigin) headers.authorization = `Token ${host.accessToken}`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(IMAGE_FETCH_TIMEOUT_MS),
    });
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${IMAGE_FETCH_TIMEOUT_MS} ms`
        : (error as Error).message;
    throw new ImageFetchError(`image ${url.href} could not be fetched: ${reason}`);
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw new ImageFetchError(
      `image ${url.href} could not be fetched: HTTP ${response.status} redirect, which labelloop does not follow (point the task at the file itself)`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new ImageFetchError(`image ${url.href} could not be fetched: HTTP ${response.status}`);
  }
  return checkImage(await readCapped(response, url.href));
}

/** The origin of LS's /setup hostname, or null when none (or an unusable one) was sent. */
function hostnameOrigin(hostname: string | null): string | null {
  if (!hostname) return null;
  const url = URL.parse(hostname);
  return url && (url.protocol === 'http:' || url.protocol === 'https:') ? url.origin : null;
}

function resolveUrl(value: string, hostname: string | null): URL {
  const absolute = URL.parse(value);
  if (absolute) return absolute;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new ImageFetchError(`image URL ${JSON.stringify(value)} is not a valid URL`);
  }
  if (!hostname) {
    throw new ImageFetchError(`image URL ${value} is relative and Label Studio sent no hostname in /setup`);
  }
  const base = URL.parse(hostname);
  if (!base) {
    throw new ImageFetchError(
      `image URL ${value} is relative and Label Studio's hostname ${JSON.stringify(hostname)} is not a URL`,
    );
  }
  const resolved = URL.parse(value, base.href);
  if (!resolved) throw new ImageFetchError(`image URL ${JSON.stringify(value)} is not a valid URL`);
  return resolved;
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

/** PNG or JPEG of at most MAX_IMAGE_PIXELS, judged from its header before anything decodes it. */
function checkImage(bytes: Uint8Array): Uint8Array {
  try {
    readImageHeader(bytes);
  } catch (error) {
    throw new ImageFetchError(`the file is not a usable image: ${(error as Error).message}`);
  }
  return bytes;
}
