import { PNG } from 'pngjs';
import { createProject, startTestApp, type TestApp } from './support/app';

// Image bytes come from clients and Label Studio. What cannot be decoded, or would take a gigabyte to decode,
// is refused at the door with the line that carried it, so it never reaches a training or a scoring.
describe('hostile images', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'wasm' });
  });
  afterAll(() => t.close());

  function png(width: number, height: number, shade: number): Buffer {
    const image = new PNG({ width, height });
    image.data.fill(shade);
    return PNG.sync.write(image);
  }

  /** A small PNG whose header claims width x height: decoding it would allocate width * height * 4 bytes. */
  function pngDeclaring(width: number, height: number): string {
    const bytes = Buffer.from(png(4, 4, 0));
    bytes.writeUInt32BE(width, 16);
    bytes.writeUInt32BE(height, 20);
    return bytes.toString('base64');
  }

  /** A PNG with a valid header whose pixel data is garbage. */
  function corruptPng(): string {
    const bytes = Buffer.from(png(8, 8, 90));
    bytes.fill(0x42, 41, bytes.length - 12);
    return bytes.toString('base64');
  }

  const good = (i: number) => ({
    externalId: `img-${i}`,
    imageBase64: png(8, 8, i % 2 === 0 ? 30 : 220).toString('base64'),
    label: i % 2 === 0 ? 'dark' : 'light',
  });

  it('refuses undecodable, oversized and malformed images at import, naming the line', async () => {
    const projectId = await createProject(t, {
      inputKind: 'image',
      labels: ['dark', 'light'],
      holdoutFraction: 0,
    });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ imageBase64: Buffer.from('not an image at all').toString('base64') }, /neither PNG nor JPEG/],
      [{ imageBase64: pngDeclaring(100_000, 100_000) }, /over the limit of 16777216 pixels/],
      [{ imageBase64: corruptPng() }, /not a readable image/],
      [{ pixels: [1, 2, 3] }, /3 pixels do not make an image/],
      [{ pixels: [0, 300, 0, 0] }, /pixels/],
    ];
    for (const [content, reason] of cases) {
      const items = [good(0), good(1), { externalId: 'bad', ...content }];
      const response = await t.call('POST', `/v1/projects/${projectId}/items`, items);
      expect(response.status).toBe(400);
      expect(response.body.message).toMatch(/item 3/);
      expect(response.body.message).toMatch(reason);
    }
    // All or nothing: the good items of the refused requests were not written either.
    const listed = await t.call('GET', `/v1/projects/${projectId}/items`);
    expect(listed.body.data).toEqual([]);
  }, 60_000);

  it('refuses an oversized image sent to predict before decoding it', async () => {
    const projectId = await createProject(t, {
      inputKind: 'image',
      labels: ['dark', 'light'],
      holdoutFraction: 0,
    });
    const items = Array.from({ length: 20 }, (_, i) => good(i));
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, items)).body).toMatchObject({
      created: 20,
    });
    const queued = await t.call('POST', `/v1/projects/${projectId}/train`);
    expect(queued.status).toBe(202);
    let model;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      [model] = (await t.call('GET', `/v1/projects/${projectId}/models`)).body.data;
      if (model?.status === 'ready') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(model).toMatchObject({ status: 'ready' });
    const huge = await t.call('POST', `/v1/models/${model.id}/predict`, {
      inputs: [{ imageBase64: pngDeclaring(16_000, 16_000) }],
    });
    expect(huge.status).toBe(400);
    expect(huge.body.message).toMatch(/inputs\.0\.imageBase64.*over the limit/);
    const fine = await t.call('POST', `/v1/models/${model.id}/predict`, {
      inputs: [{ imageBase64: png(8, 8, 25).toString('base64') }],
    });
    expect(fine.status).toBe(200);
    expect(fine.body.predictions[0].label).toBe('dark');
  }, 90_000);
});
