import { hash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { archiveEntries, packArchive } from '../libs/ml/src/testing/tar-archive';
import { ADMIN_KEY, createKey, createProject, startTestApp, type TestApp } from './support/app';
import {
  features,
  labeledRows,
  modelProject,
  scoringSettled,
  trainAndWait,
  unlabeledRows,
} from './support/models';

// Models as packages: a model trained in one installation is exported as a bundle, imported into a fresh
// installation (its own database and object store) and predicts the same there; damaged and foreign bundles
// are refused with nothing written.
describe('model bundles', () => {
  let source: TestApp;
  let target: TestApp;
  let sourceProject: string;
  let model: { id: string; number: number; metrics: Record<string, unknown>; datasetVersion: number };
  let bundle: Buffer;

  const inputs = [features(3, 'neg'), features(4, 'pos'), ...unlabeledRows(5).map((r) => r.features)].map(
    (f) => ({ features: f }),
  );

  async function download(t: TestApp, id: string) {
    const response = await fetch(`${t.baseUrl}/v1/models/${id}/bundle`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    return { response, body: Buffer.from(await response.arrayBuffer()) };
  }

  function upload(t: TestApp, projectId: string, body: Buffer, query = '', key = ADMIN_KEY) {
    return fetch(`${t.baseUrl}/v1/projects/${projectId}/models/import${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/gzip' },
      body,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as any }));
  }

  const sha256 = (body: Buffer) => hash('sha256', body, 'hex');

  beforeAll(async () => {
    source = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'cpu' });
    target = await startTestApp({
      LABELLOOP_ROLE: 'all',
      ML_BACKEND: 'cpu',
      MODEL_BUNDLE_MAX_BYTES: '65536',
    });
    sourceProject = await modelProject(source);
    await source.call('POST', `/v1/projects/${sourceProject}/items`, [
      ...labeledRows(60),
      ...unlabeledRows(10),
    ]);
    await trainAndWait(source, sourceProject);
    [model] = (await source.call('GET', `/v1/projects/${sourceProject}/models`)).body.data;
  }, 120_000);
  afterAll(async () => {
    await source?.close();
    await target?.close();
  });

  it('exports one tar.gz with the model files, readable metadata and sha256 checksums', async () => {
    const { response, body } = await download(source, model.id);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/gzip');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="model-1-${model.id}.tar.gz"`,
    );
    bundle = body;
    const files = await archiveEntries(bundle);
    expect([...files.keys()].sort()).toEqual([
      'bundle.json',
      'checksums.sha256',
      'featurizer.json',
      'labels.json',
      'metrics.json',
      'model.json',
      'spec.json',
      'weights.bin',
    ]);
    expect(JSON.parse(files.get('labels.json')!.toString())).toEqual(['neg', 'pos']);
    expect(JSON.parse(files.get('metrics.json')!.toString())).toEqual(model.metrics);
    expect(JSON.parse(files.get('spec.json')!.toString()).spec).toMatchObject({
      architecture: 'linear',
      seed: 5,
    });
    expect(JSON.parse(files.get('featurizer.json')!.toString()).config.kind).toBe('tabular');
    expect(JSON.parse(files.get('bundle.json')!.toString())).toMatchObject({
      format: 'labelloop-model-bundle',
      inputKind: 'tabular',
      backend: 'cpu',
      source: { projectId: sourceProject, modelVersionId: model.id, number: 1, datasetVersion: 1 },
    });
    const listed = files.get('checksums.sha256')!.toString().trim().split('\n');
    expect(listed).toHaveLength(7);
    for (const line of listed) {
      const [digest, name] = line.split('  ');
      expect(sha256(files.get(name)!)).toBe(digest);
    }
    expect((await download(source, '00000000-0000-4000-8000-000000000000')).response.status).toBe(404);
  });

  it('imports into a fresh installation, predicts the same, and scores the pool with it', async () => {
    const expected = await source.call('POST', `/v1/models/${model.id}/predict`, { inputs });
    expect(expected.status).toBe(200);

    // The same label set in another order is compatible: predictions name their labels. No holdout: every item
    // is in the pool the imported model ranks.
    const projectId = await modelProject(target, { labels: ['pos', 'neg'], holdoutFraction: 0 });
    await target.call('POST', `/v1/projects/${projectId}/items`, unlabeledRows(20));
    const imported = await upload(target, projectId, bundle);
    expect(imported.status).toBe(201);
    expect(imported.body).toMatchObject({
      projectId,
      number: 1,
      status: 'ready',
      promoted: true,
      source: 'imported',
      origin: {
        projectId: sourceProject,
        modelVersionId: model.id,
        number: 1,
        datasetVersion: 1,
        metrics: model.metrics,
      },
      datasetVersion: null,
      backend: 'cpu',
      // Nothing labeled in this project's holdout: no accuracy here (the bundle's stays under origin).
      metrics: null,
      scoringJobId: expect.any(String),
    });
    const id = imported.body.id;

    const predicted = await target.call('POST', `/v1/models/${id}/predict`, { inputs });
    expect(predicted.status).toBe(200);
    expect(predicted.body.labels).toEqual(expected.body.labels);
    expect(predicted.body.predictions).toEqual(expected.body.predictions);

    const scoring = await scoringSettled(target, projectId);
    expect(scoring.failedReason).toBeUndefined();
    expect(scoring.returnvalue).toMatchObject({ modelVersionId: id, scored: 20 });
    const tasks = await target.call('GET', `/v1/projects/${projectId}/tasks/next?limit=2`);
    expect(tasks.body.data[0].preLabel.label).toMatch(/^(neg|pos)$/);

    // Without promotion: recorded ready, the promoted model stays.
    const kept = await upload(target, projectId, bundle, '?promote=false');
    expect(kept.body).toMatchObject({ number: 2, promoted: false, scoringJobId: null });
    expect((await target.call('GET', `/v1/models/${id}`)).body.promoted).toBe(true);
    // And it round-trips: exported again from the target, it is the same model.
    const again = await archiveEntries((await download(target, kept.body.id)).body);
    const original = await archiveEntries(bundle);
    for (const name of ['weights.bin', 'model.json', 'featurizer.json', 'labels.json', 'metrics.json']) {
      expect(again.get(name)!.equals(original.get(name)!)).toBe(true);
    }
  }, 60_000);

  it("measures an imported model on the importing project's labeled holdout", async () => {
    const projectId = await modelProject(target);
    await target.call('POST', `/v1/projects/${projectId}/items`, labeledRows(40, 'measured'));
    const [holdout] = await target.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM items WHERE project_id = $1 AND split = 'holdout' AND label IS NOT NULL`,
      [projectId],
    );
    expect(holdout.n).toBeGreaterThan(0);
    const imported = await upload(target, projectId, bundle, '?promote=false');
    expect(imported.status).toBe(201);
    expect(imported.body.metrics).toMatchObject({ holdoutRows: holdout.n, accuracy: expect.any(Number) });
    // The rows are separable by x and the source model learned that: it is right on this holdout too.
    expect(imported.body.metrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(imported.body.metrics).not.toEqual(model.metrics);
    expect(imported.body.origin.metrics).toEqual(model.metrics);
  });

  describe('bad bundles', () => {
    let projectId: string;
    let files: Map<string, Buffer>;

    beforeAll(async () => {
      projectId = await modelProject(target);
      files = await archiveEntries(bundle);
    });

    async function written() {
      const [{ n }] = await target.db.query<{ n: number }>('SELECT count(*)::int AS n FROM model_versions');
      const store = target.app.get<ObjectStore>(OBJECT_STORE);
      let objects = 0;
      for await (const entry of store.list('projects/')) if (entry) objects++;
      return { models: n, objects };
    }

    async function refused(body: Buffer, status: number, message: RegExp | string, project = projectId) {
      const before = await written();
      const response = await upload(target, project, body);
      expect({ status: response.status, message: response.body.message }).toEqual({
        status,
        message: typeof message === 'string' ? message : expect.stringMatching(message),
      });
      expect(await written()).toEqual(before);
    }

    it('refuses a corrupted archive', async () => {
      await refused(
        Buffer.from('this is not a bundle'),
        400,
        /^invalid model bundle: bundle is not gzip data/,
      );
      await refused(bundle.subarray(0, bundle.length - 40), 400, /^invalid model bundle: bundle is not gzip/);
      await refused(
        gzipSync(Buffer.from('just text, no tar')),
        400,
        /^invalid model bundle: bundle is not a tar/,
      );
      await refused(
        gzipSync(Buffer.alloc(2_000_000)),
        400,
        'invalid model bundle: bundle unpacks to more than 65536 bytes',
      );
      await refused(Buffer.alloc(70_000, 1), 413, /./);
    });

    it('refuses a missing file or a checksum mismatch', async () => {
      const withoutWeights = new Map(files);
      withoutWeights.delete('weights.bin');
      await refused(
        await packArchive(withoutWeights),
        400,
        'invalid model bundle: bundle is missing weights.bin',
      );

      const tampered = new Map(files);
      const weights = Buffer.from(files.get('weights.bin')!);
      weights[weights.length - 1] ^= 0x01;
      tampered.set('weights.bin', weights);
      await refused(
        await packArchive(tampered),
        400,
        'invalid model bundle: checksum mismatch for weights.bin',
      );
    });

    it('refuses a bundle made for other labels or another input kind', async () => {
      const otherLabels = await modelProject(target, { labels: ['neg', 'pos', 'unsure'] });
      await refused(
        bundle,
        422,
        /^the bundle's labels \(neg, pos\) are not the project's \(neg, pos, unsure\)/,
        otherLabels,
      );
      const text = await createProject(target, { inputKind: 'text', labels: ['neg', 'pos'] });
      await refused(bundle, 422, `the bundle's model takes tabular inputs; project ${text} is text`, text);
    });

    it('refuses the wrong content type, role, or project', async () => {
      const before = await written();
      const json = await target.call('POST', `/v1/projects/${projectId}/models/import`, { bundle: 'x' });
      expect(json.status).toBe(415);
      const annotator = await createKey(target, 'annotator', projectId);
      expect((await upload(target, projectId, bundle, '', annotator)).status).toBe(403);
      expect((await upload(target, '00000000-0000-4000-8000-000000000000', bundle)).status).toBe(404);
      expect((await upload(target, projectId, bundle, '?promote=maybe')).status).toBe(400);
      expect(await written()).toEqual(before);
    });
  });
});
