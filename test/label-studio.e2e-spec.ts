import { createProject, startTestApp, type TestApp } from './support/app';
import { annotationEvent, LabelStudioPlayer, textConfig } from './support/label-studio';

// Label Studio (played by the test) uses labelloop as its ML backend for a text project: add the model,
// pre-label a page, annotate through event webhooks, Start Training, and get the new model's predictions
// ordered so that LS's "uncertainty sampling" serves what labelloop's strategy ranks most useful first.
describe('Label Studio ML backend', () => {
  let t: TestApp;
  let projectId: string;
  let ls: LabelStudioPlayer;
  const CHOICES = ['Positive', 'Negative', 'Neutral'];
  const config = textConfig(CHOICES);
  const auth = { username: 'label-studio', password: 'correct horse battery' };

  const POSITIVE = ['great', 'wonderful', 'excellent', 'loved', 'brilliant', 'superb'];
  const NEGATIVE = ['awful', 'terrible', 'boring', 'hated', 'dreadful', 'poor'];
  const NEUTRAL = ['okay', 'average', 'fine', 'plain', 'ordinary', 'mediocre'];
  const WORDS = { Positive: POSITIVE, Negative: NEGATIVE, Neutral: NEUTRAL };
  /** Three classes, so entropy and margin rank differently (with two, every strategy agrees). */
  const truth = (task: number) => CHOICES[task % 3] as keyof typeof WORDS;
  /** Annotated tasks: clearly one side. Unlabeled tasks: a mix, so the model is unsure about some. */
  const labeledText = (i: number) =>
    `the movie was ${WORDS[truth(i)][i % 6]} and ${WORDS[truth(i)][(i * 5 + 1) % 6]} story`;
  const mixedText = (i: number) =>
    [
      ...POSITIVE.slice(0, i % 4),
      ...NEGATIVE.slice(0, (i * 7) % 4),
      ...NEUTRAL.slice(0, (i * 3) % 3),
      'film',
    ].join(' ') + ` number ${i}`;
  const page = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, data: { text: mixedText(i + 1) } }));
  const annotated = Array.from({ length: 60 }, (_, i) => ({
    id: i + 21,
    data: { text: labeledText(i + 21) },
  }));

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'wasm' });
    projectId = await createProject(t, {
      labels: ['a', 'b'],
      seed: 11,
      modelSpec: { architecture: 'linear', epochs: 30, learningRate: 0.05 },
      // Entropy, not the default margin: the order LS gets must follow the project's own strategy.
      acquisitionSpec: { strategy: 'entropy', diversity: false, retrainThreshold: 1000 },
    });
    ls = await LabelStudioPlayer.connect(t, projectId, auth);
  }, 60_000);
  afterAll(() => t?.close());

  it('gives an admin a backend URL with a token that is shown once and stored as a hash', async () => {
    expect(ls.backendPath).toMatch(/^\/v1\/label-studio\/lsc_[A-Za-z0-9_-]{32}\/$/);
    const status = await t.call('GET', `/v1/projects/${projectId}/connectors/label-studio`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ basicAuth: { username: 'label-studio' }, labelConfig: null });
    expect(JSON.stringify(status.body)).not.toContain(ls.backendPath.split('/')[3]);
    const [row] = await t.db.query<{ token_hash: string }>('SELECT token_hash FROM label_studio_connectors');
    expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('adds the model: health, then setup twice (labels adopted on the first), cold-start version', async () => {
    const health = await ls.health();
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'UP' });
    expect(health.ms).toBeLessThan(1000);

    const first = await ls.setup(config);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ model_version: 'labelloop-cold-start' });
    expect(first.ms).toBeLessThan(3000);
    const second = await ls.setup(config);
    expect(second.body).toEqual(first.body);

    const project = await t.call('GET', `/v1/projects/${projectId}`);
    expect(project.body.labels).toEqual(CHOICES);
    const status = await t.call('GET', `/v1/projects/${projectId}/connectors/label-studio`);
    expect(status.body.labelConfig).toMatchObject({ fromName: 'sentiment', toName: 'text', dataKey: 'text' });
  });

  it('predicts a page of 20 tasks before any model: one empty prediction per task, in order', async () => {
    const response = await ls.predict(page, config);
    expect(response.status).toBe(200);
    expect(response.body.results).toHaveLength(20);
    for (const result of response.body.results) {
      expect(result).toEqual({
        result: [],
        score: expect.any(Number),
        model_version: 'labelloop-cold-start',
      });
      expect(result.score).toBeGreaterThanOrEqual(0);
      expect(result.score).toBeLessThanOrEqual(1);
    }
    const items = await t.db.query<{ external_id: string; payload: { text: string } }>(
      `SELECT external_id, payload FROM items WHERE project_id = $1 ORDER BY external_id`,
      [projectId],
    );
    expect(items).toHaveLength(20);
    expect(items.find((i) => i.external_id === 'ls-task-7')?.payload.text).toBe(mixedText(7));

    // Again: the same items, nothing new.
    await ls.predict(page, config);
    const [{ n }] = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM items WHERE project_id = $1',
      [projectId],
    );
    expect(n).toBe(20);
  });

  it('records annotation webhooks for 60 tasks sent without credentials, each answered within 1 s', async () => {
    for (const [i, task] of annotated.entries()) {
      const response = await ls.event(
        annotationEvent({
          annotationId: 1000 + i,
          taskId: task.id,
          data: task.data,
          choice: truth(task.id),
          labelConfig: config,
          userId: 1 + (i % 3),
        }),
      );
      expect(response.status).toBe(200);
      expect(response.ms).toBeLessThan(1000);
    }
    const status = await ls.eventsSettled();
    expect(status.events).toMatchObject({ pending: 0, processed: 60, failed: 0 });
    const rows = await t.db.query<{ label: string; annotator: string; source: string; external_id: string }>(
      `SELECT a.label, a.annotator, a.source, i.external_id FROM annotations a JOIN items i ON i.id = a.item_id
       WHERE a.project_id = $1`,
      [projectId],
    );
    expect(rows).toHaveLength(60);
    expect(new Set(rows.map((r) => r.annotator))).toEqual(
      new Set(['label-studio:1', 'label-studio:2', 'label-studio:3']),
    );
    expect(rows.every((r) => r.source === 'human')).toBe(true);
    expect(rows.find((r) => r.external_id === 'ls-task-21')?.label).toBe('Positive');
    expect(rows.find((r) => r.external_id === 'ls-task-23')?.label).toBe('Neutral');
  });

  it('START_TRAINING needs the basic auth LS sends with it, and answers with the queued job', async () => {
    const refused = await ls.startTraining(config, false);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic /);

    const started = await ls.startTraining(config);
    expect(started.status).toBe(201);
    expect(started.body).toEqual({
      status: 'ok',
      result: { jobId: expect.any(String), state: expect.any(String) },
    });
    expect(started.body.job).toBeUndefined();

    const deadline = Date.now() + 90_000;
    for (;;) {
      const jobs = await t.call('GET', `/v1/projects/${projectId}/jobs`);
      const job = jobs.body.data.find((j: { id: string }) => j.id === started.body.result.jobId);
      if (job?.state === 'completed') break;
      if (job?.state === 'failed') throw new Error(`training failed: ${job.failedReason}`);
      if (Date.now() > deadline) throw new Error('training did not finish');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }, 120_000);

  it('predicts again with the new model version, following the config and the project strategy', async () => {
    const setup = await ls.setup(config);
    expect(setup.body).toEqual({ model_version: 'labelloop-v1' });
    const versions = await ls.versions();
    expect(versions.body).toEqual({ versions: ['labelloop-v1'] });

    const response = await ls.predict(page, config);
    expect(response.status).toBe(200);
    const results = response.body.results as {
      result: { from_name: string; to_name: string; type: string; value: { choices: string[] } }[];
      score: number;
      model_version: string;
    }[];
    expect(results).toHaveLength(20);
    for (const prediction of results) {
      expect(prediction.model_version).toBe('labelloop-v1');
      expect(prediction.score).toBeGreaterThanOrEqual(0);
      expect(prediction.score).toBeLessThanOrEqual(1);
      expect(prediction.result).toHaveLength(1);
      const [region] = prediction.result;
      expect(region).toMatchObject({ from_name: 'sentiment', to_name: 'text', type: 'choices' });
      expect(region.value.choices).toHaveLength(1);
      expect(CHOICES).toContain(region.value.choices[0]);
    }
    // The page mixes the known words 4 ways ("number i" adds n-grams the model never saw, which the text
    // featurizer leaves out): one score per mix at least, not one for all.
    expect(new Set(results.map((r) => r.score)).size).toBeGreaterThanOrEqual(4);

    // The scorer ranked the same pool items with the project's strategy (entropy) into `predictions`.
    const deadline = Date.now() + 60_000;
    let ranked: { external_id: string; uncertainty: number; label: string }[] = [];
    while (ranked.length < 20) {
      ranked = await t.db.query(
        `SELECT i.external_id, p.uncertainty, p.label FROM predictions p JOIN items i ON i.id = p.item_id
         JOIN model_versions m ON m.id = p.model_version_id AND m.number = 1 WHERE p.project_id = $1`,
        [projectId],
      );
      if (Date.now() > deadline) throw new Error(`scoring did not finish: ${ranked.length} rows`);
      if (ranked.length < 20) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const byTask = new Map(ranked.map((r) => [r.external_id, r]));
    const lsOrder = results
      .map((r, i) => ({ task: page[i].id, score: r.score, label: r.result[0].value.choices[0] }))
      .sort((a, b) => a.score - b.score);
    // LS serves the lowest score first: that must be the scorer's most uncertain first (ties within float error).
    for (let k = 1; k < lsOrder.length; k++) {
      const before = byTask.get(`ls-task-${lsOrder[k - 1].task}`)!.uncertainty;
      const after = byTask.get(`ls-task-${lsOrder[k].task}`)!.uncertainty;
      expect(before).toBeGreaterThanOrEqual(after - 1e-4);
    }
    for (const entry of lsOrder) expect(entry.label).toBe(byTask.get(`ls-task-${entry.task}`)!.label);
  });

  it('exports the project and a dataset version as Label Studio tasks', async () => {
    const now = await t.call('GET', `/v1/projects/${projectId}/label-studio/tasks`);
    expect(now.status).toBe(200);
    const tasks = now.body as {
      data: { text: string };
      meta: { label_studio_task_id?: number };
      annotations?: { result: { value: { choices: string[] } }[] }[];
      predictions?: { model_version: string; score: number; result: { from_name: string }[] }[];
    }[];
    expect(tasks).toHaveLength(80);
    const task22 = tasks.find((task) => task.meta.label_studio_task_id === 22)!;
    expect(task22.data.text).toBe(labeledText(22));
    expect(task22.annotations![0].result[0].value.choices).toEqual(['Negative']);
    const unlabeled = tasks.filter((task) => !task.annotations);
    expect(unlabeled).toHaveLength(20);
    for (const task of unlabeled) {
      expect(task.predictions![0]).toMatchObject({
        model_version: 'labelloop-v1',
        result: [{ from_name: 'sentiment' }],
      });
    }

    // A label changed after the training: version 1 still has the old one.
    const item = await t.db.query<{ id: string }>(`SELECT id FROM items WHERE external_id = 'ls-task-22'`);
    const relabel = await t.call('POST', `/v1/items/${item[0].id}/annotations`, { label: 'Positive' });
    expect(relabel.status).toBe(201);
    const v1 = await t.call('GET', `/v1/projects/${projectId}/label-studio/tasks?datasetVersion=1`);
    expect(v1.status).toBe(200);
    expect(v1.body.filter((task: { annotations?: unknown }) => task.annotations)).toHaveLength(60);
    const old22 = v1.body.find(
      (task: { meta: { label_studio_task_id?: number } }) => task.meta.label_studio_task_id === 22,
    );
    expect(old22.annotations[0].result[0].value.choices).toEqual(['Negative']);
    const missing = await t.call('GET', `/v1/projects/${projectId}/label-studio/tasks?datasetVersion=9`);
    expect(missing.status).toBe(404);
  });

  it('imports a Label Studio export (tasks with annotations) into another project', async () => {
    const other = await createProject(t, { labels: CHOICES });
    const exported = [
      {
        id: 501,
        data: { text: 'a superb film' },
        annotations: [
          {
            id: 9001,
            result: [
              { from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Negative'] } },
            ],
            was_cancelled: false,
            completed_by: 4,
            updated_at: '2025-05-29T09:00:00Z',
          },
          {
            id: 9002,
            result: [
              { from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Positive'] } },
            ],
            was_cancelled: false,
            completed_by: 5,
            updated_at: '2025-05-29T10:00:00Z',
          },
        ],
      },
      {
        id: 502,
        data: { text: 'skipped one' },
        annotations: [{ id: 9003, result: [], was_cancelled: true }],
      },
      { id: 503, data: { text: 'not annotated' } },
    ];
    const imported = await t.call('POST', `/v1/projects/${other}/label-studio/tasks`, {
      tasks: exported,
      labelConfig: config,
    });
    expect(imported.status).toBe(201);
    expect(imported.body).toEqual({ received: 3, labeled: 1, relabeled: 0, annotationsMapped: 3 });
    const items = await t.db.query<{ external_id: string; label: string | null }>(
      'SELECT external_id, label FROM items WHERE project_id = $1 ORDER BY external_id',
      [other],
    );
    expect(items).toEqual([
      { external_id: 'ls-task-501', label: 'Positive' },
      { external_id: 'ls-task-502', label: null },
      { external_id: 'ls-task-503', label: null },
    ]);

    const choice = (id: number, label: string, at: string) => ({
      id,
      result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: [label] } }],
      was_cancelled: false,
      completed_by: 6,
      updated_at: at,
    });
    const itemCount = async () =>
      (
        await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE project_id = $1', [other])
      )[0].n;

    // One unreadable task fails the whole request: the readable one beside it is not written either.
    const bad = await t.call('POST', `/v1/projects/${other}/label-studio/tasks`, {
      tasks: [
        {
          id: 504,
          data: { text: 'fine on its own' },
          annotations: [choice(9004, 'Positive', '2025-05-29T09:00:00Z')],
        },
        { id: 505, data: { body: 'x' } },
      ],
      labelConfig: config,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(
      /1 task\(s\) could not be imported, so none was: task 505: data.text is missing/,
    );
    const outside = await t.call('POST', `/v1/projects/${other}/label-studio/tasks`, {
      tasks: [
        { id: 504, data: { text: 'fine on its own' } },
        { id: 506, data: { text: 'meh' }, annotations: [choice(9006, 'Meh', '2025-05-29T09:00:00Z')] },
      ],
      labelConfig: config,
    });
    expect(outside.status).toBe(400);
    expect(outside.body.message).toMatch(/task 506: label "Meh" is not in the project's label set/);
    expect(await itemCount()).toBe(3);

    // Tasks whose items exist: their (newer) labels are appended, not dropped.
    const again = await t.call('POST', `/v1/projects/${other}/label-studio/tasks`, {
      tasks: [
        {
          id: 501,
          data: { text: 'a superb film' },
          annotations: [choice(9002, 'Positive', '2025-05-29T10:00:00Z')],
        },
        {
          id: 503,
          data: { text: 'not annotated' },
          annotations: [choice(9007, 'Negative', '2025-05-30T09:00:00Z')],
        },
      ],
      labelConfig: config,
    });
    expect(again.status).toBe(201);
    expect(again.body).toEqual({ received: 2, labeled: 2, relabeled: 1, annotationsMapped: 2 });
    const relabeled = await t.db.query<{ external_id: string; label: string | null; annotations: number }>(
      `SELECT i.external_id, i.label, (SELECT count(*)::int FROM annotations a WHERE a.item_id = i.id) AS annotations
       FROM items i WHERE i.project_id = $1 ORDER BY i.external_id`,
      [other],
    );
    expect(relabeled).toEqual([
      { external_id: 'ls-task-501', label: 'Positive', annotations: 1 },
      { external_id: 'ls-task-502', label: null, annotations: 0 },
      { external_id: 'ls-task-503', label: 'Negative', annotations: 1 },
    ]);
    const [appended] = await t.db.query<{ source: string }>(
      `SELECT a.source FROM annotations a JOIN items i ON i.id = a.item_id WHERE i.external_id = 'ls-task-503'`,
    );
    expect(appended.source).toBe('import');
  });
});
