import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PNG } from 'pngjs';
import { createProject, startTestApp, type TestApp } from './support/app';
import { annotationEvent, imageConfig, LabelStudioPlayer } from './support/label-studio';

// An image project: Label Studio's tasks point at files it serves itself (/data/upload/...), behind its
// access token. A local HTTP server plays LS's file server.
describe('Label Studio ML backend: image tasks', () => {
  let t: TestApp;
  let files: Server;
  let host: string;
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const TOKEN = 'ls-access-token-123';
  const CHOICES = ['dark', 'light'];
  const config = imageConfig(CHOICES);

  /** 8x8 RGB: dark or light with a little seeded texture. */
  const png = (light: boolean, n: number) => {
    const image = new PNG({ width: 8, height: 8 });
    for (let i = 0; i < 64; i++) {
      const v = (light ? 200 : 30) + ((i * 31 + n * 17) % 40);
      image.data.set([v, v, v, 255], i * 4);
    }
    return PNG.sync.write(image);
  };
  const truth = (task: number) => (task % 2 === 0 ? 'light' : 'dark');
  const upload = (task: number) => `/data/upload/1/img-${task}.png`;

  beforeAll(async () => {
    files = createServer((request, response) => {
      seen.push({ url: request.url ?? '', headers: request.headers });
      const match = /^\/data\/upload\/1\/img-(\d+)\.png$/.exec(request.url ?? '');
      if (request.url === '/data/upload/1/notes.txt') return void response.end('just text');
      if (request.url === '/data/upload/1/moved.png') {
        return void response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      }
      if (!match) return void response.writeHead(404).end();
      if (request.headers.authorization !== `Token ${TOKEN}`) return void response.writeHead(401).end();
      response
        .writeHead(200, { 'content-type': 'image/png' })
        .end(png(truth(Number(match[1])) === 'light', Number(match[1])));
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    host = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    // localhost is another origin than LS's hostname (127.0.0.1), allowed by the setting.
    t = await startTestApp({
      LABELLOOP_ROLE: 'all',
      ML_BACKEND: 'wasm',
      LABEL_STUDIO_IMAGE_ORIGINS: ` ${host.replace('127.0.0.1', 'localhost')} , https://files.example.com`,
    });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((resolve) => files.close(resolve));
  });

  it('pre-labels image tasks fetched from Label Studio, with an error per task that cannot be fetched', async () => {
    const projectId = await createProject(t, {
      inputKind: 'image',
      labels: CHOICES,
      seed: 5,
      modelSpec: { architecture: 'linear', epochs: 20, learningRate: 0.05 },
      acquisitionSpec: { retrainThreshold: 1000 },
    });
    const ls = await LabelStudioPlayer.connect(t, projectId);
    const setup = await ls.setup(config, { hostname: host, access_token: TOKEN });
    expect(setup.body).toEqual({ model_version: 'labelloop-cold-start' });

    const page = [
      ...Array.from({ length: 8 }, (_, i) => ({ id: i + 1, data: { image: upload(i + 1) } })),
      { id: 9, data: { image: '/data/upload/1/gone.png' } },
      // An allowed origin other than LS's hostname: fetched, but the access token must not be sent there.
      { id: 10, data: { image: `${host.replace('127.0.0.1', 'localhost')}${upload(10)}` } },
      { id: 11, data: { image: '/data/upload/1/notes.txt' } },
      { id: 12, data: { image: 's3://bucket/img.png' } },
      { id: 13, data: { picture: upload(13) } },
      // Origins neither LS's nor listed: refused without a request (no fetching internal addresses).
      { id: 14, data: { image: 'http://169.254.169.254/latest/meta-data/iam.png' } },
      { id: 15, data: { image: `${host.replace(/:\d+$/, ':1')}${upload(15)}` } },
      // A redirect is not followed (it could lead anywhere).
      { id: 16, data: { image: '/data/upload/1/moved.png' } },
      // Malformed URLs: an error for the task only.
      { id: 17, data: { image: 'http://exa mple.com/x.png' } },
      { id: 18, data: { image: 'localhost:8080' } },
    ];
    const cold = await ls.predict(page, config);
    expect(cold.status).toBe(200);
    expect(cold.body.results).toHaveLength(18);
    for (const result of cold.body.results.slice(0, 8)) {
      expect(result).toEqual({
        result: [],
        score: expect.any(Number),
        model_version: 'labelloop-cold-start',
      });
    }
    const errors = cold.body.results.slice(8);
    for (const entry of errors) {
      expect(entry.result).toBeUndefined();
      expect(entry.model_version).toBe('labelloop-cold-start');
    }
    expect(errors.map((e: { error: string }) => e.error)).toEqual([
      expect.stringMatching(/^task 9: image .*gone\.png could not be fetched: HTTP 404$/),
      expect.stringMatching(/^task 10: image http:\/\/localhost:.* could not be fetched: HTTP 401$/),
      'task 11: the file is not a usable image: image bytes are neither PNG nor JPEG',
      expect.stringMatching(
        /^task 12: image URL s3:\/\/bucket\/img\.png uses s3:\/\/, which labelloop cannot read/,
      ),
      'task 13: data.image is missing',
      expect.stringMatching(
        /^task 14: image URL http:\/\/169\.254\.169\.254\/latest\/meta-data\/iam\.png is not on Label Studio's host \(http:\/\/127\.0\.0\.1:\d+\): .*LABEL_STUDIO_IMAGE_ORIGINS/,
      ),
      expect.stringMatching(/^task 15: image URL http:\/\/127\.0\.0\.1:1\/.* is not on Label Studio's host/),
      expect.stringMatching(
        /^task 16: image .*moved\.png could not be fetched: HTTP 302 redirect, which labelloop does not follow/,
      ),
      'task 17: image URL "http://exa mple.com/x.png" is not a valid URL',
      expect.stringMatching(
        /^task 18: image URL localhost:8080 uses localhost:\/\/, which labelloop cannot read/,
      ),
    ]);
    // One task (an interactive request, maybe): the error comes with an empty prediction the editor can take.
    const single = await ls.predict(
      [{ id: 14, data: { image: 'http://169.254.169.254/latest/meta-data/iam.png' } }],
      config,
    );
    expect(single.body).toEqual({
      results: [
        {
          result: [],
          score: 0,
          model_version: 'labelloop-cold-start',
          error: expect.stringMatching(/^task 14: image URL .* is not on Label Studio's host/),
        },
      ],
    });
    expect(seen.find((s) => s.url === upload(1))?.headers.authorization).toBe(`Token ${TOKEN}`);
    expect(seen.find((s) => s.url === upload(10))?.headers.authorization).toBeUndefined();
    const items = await t.db.query<{ external_id: string; object_key: string | null }>(
      'SELECT external_id, object_key FROM items WHERE project_id = $1',
      [projectId],
    );
    expect(items).toHaveLength(8);
    expect(items.every((item) => item.object_key?.startsWith(`projects/${projectId}/items/`))).toBe(true);

    // Annotate 30 more images through webhooks, train, and predict the first page again.
    for (let task = 101; task <= 130; task++) {
      const response = await ls.event(
        annotationEvent({
          annotationId: task,
          taskId: task,
          data: { image: upload(task) },
          choice: truth(task),
          labelConfig: config,
          fromName: 'choice',
          toName: 'image',
        }),
      );
      expect(response.status).toBe(200);
    }
    expect((await ls.eventsSettled()).events).toMatchObject({ processed: 30, failed: 0 });
    const started = await ls.startTraining(config);
    expect(started.status).toBe(201);
    const deadline = Date.now() + 60_000;
    while (
      (await ls.setup(config, { hostname: host, access_token: TOKEN })).body.model_version !== 'labelloop-v1'
    ) {
      if (Date.now() > deadline) throw new Error('no model after training');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    const fetchesBefore = seen.length;
    const warm = await ls.predict(page.slice(0, 8), config);
    expect(warm.status).toBe(200);
    expect(seen.length).toBe(fetchesBefore); // known tasks: bytes from the object store, not fetched again
    const predicted = warm.body.results.map(
      (r: {
        result: { from_name: string; to_name: string; type: string; value: { choices: string[] } }[];
        score: number;
        model_version: string;
      }) => {
        expect(r.model_version).toBe('labelloop-v1');
        expect(r.score).toBeGreaterThanOrEqual(0);
        expect(r.score).toBeLessThanOrEqual(1);
        expect(r.result[0]).toMatchObject({ from_name: 'choice', to_name: 'image', type: 'choices' });
        return r.result[0].value.choices[0];
      },
    );
    const correct = predicted.filter((label: string, i: number) => label === truth(i + 1)).length;
    expect(correct).toBeGreaterThanOrEqual(7);
  }, 120_000);
});
