import { NDJSON } from '../apps/api/src/items/items.controller';
import { createProject, startTestApp, type TestApp } from './support/app';
import { annotationEvent, LabelStudioPlayer, textConfig } from './support/label-studio';

// Strings PostgreSQL cannot store (NUL, lone UTF-16 surrogates) and numbers past its `integer`, anywhere a
// client can put them: a 400 naming the field before anything is written, never a 500. The Label Studio
// webhook answers 200 all the same and records the delivery as a failed event.
describe('hostile input', () => {
  let t: TestApp;
  let projectId: string;
  let itemId: string;
  const NUL = '\u0000';
  const LONE_SURROGATE = '\uD800';

  const counts = async () =>
    (
      await t.db.query<{ projects: number; items: number; annotations: number }>(
        `SELECT (SELECT count(*)::int FROM projects) AS projects, (SELECT count(*)::int FROM items) AS items,
                (SELECT count(*)::int FROM annotations) AS annotations`,
      )
    )[0];

  beforeAll(async () => {
    t = await startTestApp();
    projectId = await createProject(t, { labels: ['spam', 'ham'] });
    const imported = await t.call('POST', `/v1/projects/${projectId}/items`, [
      { externalId: 'a', text: 'hello' },
    ]);
    expect(imported.status).toBe(200);
    const items = await t.call('GET', `/v1/projects/${projectId}/items`);
    itemId = items.body.data[0].id;
  });
  afterAll(() => t?.close());

  it('refuses a NUL in a project name, an item payload, metadata keys and an annotation label, naming the field', async () => {
    const before = await counts();
    const cases: [string, string, unknown, string][] = [
      [
        'POST',
        '/v1/projects',
        { name: `spam${NUL}filter`, inputKind: 'text', labels: ['spam', 'ham'] },
        'invalid body: name: contains a NUL character',
      ],
      [
        'POST',
        `/v1/projects/${projectId}/items`,
        [
          { externalId: 'b', text: 'ok' },
          { externalId: 'c', text: `hi${NUL}there` },
        ],
        'invalid body: 1.text: contains a NUL character',
      ],
      [
        'POST',
        `/v1/projects/${projectId}/items`,
        { items: [{ externalId: 'd', text: 'ok', metadata: { [`source${NUL}`]: 'x' } }] },
        'invalid body: items.0.metadata."source\\u0000": key contains a NUL character',
      ],
      [
        'POST',
        `/v1/items/${itemId}/annotations`,
        { label: `spam${NUL}` },
        'invalid body: label: contains a NUL character',
      ],
      [
        'POST',
        `/v1/items/${itemId}/annotations`,
        { label: 'spam', annotator: `eve${NUL}` },
        'invalid body: annotator: contains a NUL character',
      ],
    ];
    for (const [method, path, body, message] of cases) {
      const response = await t.call(method, path, body);
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(response.body.message).toContain(message);
      expect(response.body.details).toEqual([
        { field: expect.any(String), reason: expect.stringMatching(/NUL character \(U\+0000\)/) },
      ]);
    }
    expect(await counts()).toEqual(before);
  });

  it('refuses a NUL in a query parameter', async () => {
    const response = await t.call('GET', `/v1/projects/${projectId}/items?label=spam%00`);
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/^invalid query: label: contains a NUL character/);
  });

  it('refuses a lone UTF-16 surrogate the same way', async () => {
    const before = await counts();
    const project = await t.call('POST', '/v1/projects', {
      name: `x${LONE_SURROGATE}`,
      inputKind: 'text',
      labels: ['a', 'b'],
    });
    expect(project.status).toBe(400);
    expect(project.body.message).toMatch(/^invalid body: name: contains a lone UTF-16 surrogate/);
    const annotation = await t.call('POST', `/v1/items/${itemId}/annotations`, {
      label: 'spam',
      annotator: '\uDC00eve',
    });
    expect(annotation.status).toBe(400);
    expect(annotation.body.message).toMatch(/^invalid body: annotator: contains a lone UTF-16 surrogate/);
    expect(await counts()).toEqual(before);
  });

  it('refuses an NDJSON import whose line holds a NUL, naming the line and field, and imports nothing', async () => {
    const before = await counts();
    const body = [
      JSON.stringify({ externalId: 'n1', text: 'fine' }),
      JSON.stringify({ externalId: 'n2', text: `bad${NUL}` }),
      JSON.stringify({ externalId: 'n3', text: 'fine too' }),
    ].join('\n');
    const response = await t.call('POST', `/v1/projects/${projectId}/items`, body, undefined, {
      'content-type': NDJSON,
    });
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/^line 2: text: contains a NUL character/);
    expect(response.body.details).toEqual({ line: 2, field: 'text' });
    expect(await counts()).toEqual(before);
  });

  it('answers a Label Studio webhook holding a NUL with 200 and records it as a failed event', async () => {
    const config = textConfig(['spam', 'ham']);
    const ls = await LabelStudioPlayer.connect(t, projectId);
    expect((await ls.setup(config)).status).toBe(200);
    const before = await counts();
    const event = annotationEvent({
      annotationId: 1,
      taskId: 1,
      data: { text: `a NUL${NUL}here` },
      choice: 'spam',
      labelConfig: config,
    });
    const response = await ls.event(event);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      status: 'rejected',
      error: expect.stringMatching(/^invalid body: task\.data\.text: contains a NUL character/),
    });
    const surrogate = await ls.event({ ...event, [`extra${LONE_SURROGATE}`]: 1 });
    expect(surrogate.status).toBe(200);
    expect(surrogate.body.error).toMatch(
      /^invalid body: "extra\\ud800": key contains a lone UTF-16 surrogate/,
    );

    const status = await ls.eventsSettled();
    expect(status.failedEvents.slice(0, 2)).toEqual([
      expect.objectContaining({ action: 'ANNOTATION_CREATED', error: surrogate.body.error }),
      expect.objectContaining({ action: 'ANNOTATION_CREATED', error: response.body.error }),
    ]);
    // The delivery is kept as its JSON text (which escapes what jsonb cannot hold) for inspection.
    const [kept] = await t.db.query<{ payload: { bodyJson: string } }>(
      `SELECT payload FROM label_studio_events WHERE error LIKE '%task.data.text%'`,
    );
    expect(JSON.parse(kept.payload.bodyJson)).toEqual(event);
    expect(await counts()).toEqual(before);
  });

  it('refuses cursors and version numbers outside PostgreSQL integer range, or not integers, with a 400', async () => {
    const cases: [string, string, unknown, string][] = [
      ['GET', `/v1/projects/${projectId}/models?cursor=99999999999`, undefined, 'cursor'],
      ['GET', `/v1/projects/${projectId}/versions?cursor=99999999999`, undefined, 'cursor'],
      ['GET', `/v1/projects/${projectId}/versions?cursor=2147483648`, undefined, 'cursor'],
      ['GET', `/v1/projects/${projectId}/models?cursor=1.5`, undefined, 'cursor'],
      ['GET', `/v1/projects/${projectId}/versions?cursor=abc`, undefined, 'cursor'],
      [
        'GET',
        `/v1/projects/${projectId}/label-studio/tasks?datasetVersion=99999999999`,
        undefined,
        'datasetVersion',
      ],
      ['POST', `/v1/projects/${projectId}/train`, { datasetVersion: 99999999999 }, 'datasetVersion'],
    ];
    for (const [method, path, body, field] of cases) {
      const response = await t.call(method, path, body);
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(response.body.message).toContain(`${field}:`);
    }
    const largest = await t.call('GET', `/v1/projects/${projectId}/versions?cursor=2147483647`);
    expect(largest.status).toBe(200);
  });

  it('keeps 2,000 client-chosen annotator names from making 2,000 metric series', async () => {
    const names = Array.from({ length: 2000 }, (_, i) => `annotator-${i}`);
    for (let start = 0; start < names.length; start += 50) {
      const answers = await Promise.all(
        names
          .slice(start, start + 50)
          .map((annotator) =>
            t.call('POST', `/v1/items/${itemId}/annotations`, { label: 'spam', annotator }),
          ),
      );
      expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 201));
    }
    const metrics = String((await t.call('GET', '/metrics', undefined, null)).body);
    const series = metrics
      .split('\n')
      .filter((line) => line.startsWith('labels_total{') && line.includes(`project="${projectId}"`));
    expect(series.length).toBeLessThanOrEqual(1001);
    expect(series.some((line) => line.includes('annotator="(other)"'))).toBe(true);
  });
});
