import { PNG } from 'pngjs';
import { loadConfig } from '@labelloop/config';
import { fetchTaskImage } from './image-fetcher';

// Refusals happen before any request, so these need no server.
describe('fetchTaskImage refusals', () => {
  const host = { hostname: 'http://ls.internal:8080', accessToken: 'secret' };

  it.each([
    [
      'http://169.254.169.254/latest/meta-data/',
      /is not on Label Studio's host \(http:\/\/ls\.internal:8080\)/,
    ],
    ['http://127.0.0.1:6379/x.png', /is not on Label Studio's host/],
    ['https://ls.internal:8080/x.png', /is not on Label Studio's host/],
    ['http://exa mple.com/x.png', /^image URL "http:\/\/exa mple\.com\/x\.png" is not a valid URL$/],
    ['localhost:8080', /uses localhost:\/\/, which labelloop cannot read/],
    ['file:///etc/passwd', /uses file:\/\/, which labelloop cannot read/],
  ])('refuses %s', async (url, message) => {
    await expect(fetchTaskImage(url, host)).rejects.toThrow(message);
  });

  it('refuses absolute URLs when LS sent no hostname, unless their origin is allowed', async () => {
    const none = { hostname: null, accessToken: null };
    await expect(fetchTaskImage('http://10.0.0.5/x.png', none)).rejects.toThrow(
      /not on Label Studio's host \(no hostname sent in \/setup\)/,
    );
    await expect(fetchTaskImage('/data/upload/x.png', none)).rejects.toThrow(
      /relative and Label Studio sent no hostname/,
    );
    // An allowed origin passes the check and fails only at the connection (port 1 is closed).
    await expect(fetchTaskImage('http://127.0.0.1:1/x.png', none, ['http://127.0.0.1:1'])).rejects.toThrow(
      /^image http:\/\/127\.0\.0\.1:1\/x\.png could not be fetched: /,
    );
  });

  it('reads data: URIs without a hostname', async () => {
    const image = new PNG({ width: 3, height: 2 });
    const png = PNG.sync.write(image);
    const none = { hostname: null, accessToken: null };
    expect(await fetchTaskImage(`data:image/png;base64,${png.toString('base64')}`, none)).toHaveLength(
      png.length,
    );
  });

  it('refuses an image whose header declares more than the pixel limit, before decoding it', async () => {
    const png = Buffer.from(PNG.sync.write(new PNG({ width: 1, height: 1 })));
    png.writeUInt32BE(16_000, 16);
    png.writeUInt32BE(16_000, 20);
    const none = { hostname: null, accessToken: null };
    await expect(fetchTaskImage(`data:image/png;base64,${png.toString('base64')}`, none)).rejects.toThrow(
      /over the limit of 16777216 pixels/,
    );
  });
});

describe('LABEL_STUDIO_IMAGE_ORIGINS', () => {
  it('reads a comma-separated list of origins', () => {
    expect(
      loadConfig({ LABEL_STUDIO_IMAGE_ORIGINS: ' https://files.example.com , http://10.1.2.3:9000/ ' })
        .labelStudio.imageOrigins,
    ).toEqual(['https://files.example.com', 'http://10.1.2.3:9000']);
    expect(loadConfig({}).labelStudio.imageOrigins).toEqual([]);
  });

  it('refuses entries that are not bare http(s) origins', () => {
    expect(() => loadConfig({ LABEL_STUDIO_IMAGE_ORIGINS: 'https://files.example.com/bucket' })).toThrow(
      /LABEL_STUDIO_IMAGE_ORIGINS: https:\/\/files\.example\.com\/bucket is not an http\(s\) origin/,
    );
    expect(() => loadConfig({ LABEL_STUDIO_IMAGE_ORIGINS: 'files.example.com' })).toThrow(
      /not an http\(s\) origin/,
    );
  });
});
