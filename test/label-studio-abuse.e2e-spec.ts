import { createProject, startTestApp, type TestApp } from './support/app';
import { annotationEvent, imageConfig, LabelStudioPlayer, lsTask, textConfig } from './support/label-studio';

// What Label Studio (or anyone holding a wrong URL) can do wrong: unknown tokens, bad label configs, missing
// credentials, and a flood of event webhooks with resends. Nothing may be written on a refused call, every
// webhook is answered within LS's 1 s, and each LS annotation state is recorded exactly once.
describe('Label Studio ML backend under abuse', () => {
  let t: TestApp;
  let projectId: string;
  let ls: LabelStudioPlayer;
  const CHOICES = ['spam', 'ham'];
  const config = textConfig(CHOICES);

  const counts = async () =>
    (
      await t.db.query<{ items: number; annotations: number; events: number; setups: number }>(
        `SELECT (SELECT count(*)::int FROM items) AS items, (SELECT count(*)::int FROM annotations) AS annotations,
                (SELECT count(*)::int FROM label_studio_events) AS events,
                (SELECT count(*)::int FROM label_studio_connectors WHERE setup_at IS NOT NULL) AS setups`,
      )
    )[0];

  beforeAll(async () => {
    t = await startTestApp();
    projectId = await createProject(t, { labels: CHOICES });
    ls = await LabelStudioPlayer.connect(t, projectId, { username: 'ls', password: 'a long enough secret' });
  });
  afterAll(() => t?.close());

  it('answers 404 to a wrong token on every route and writes nothing', async () => {
    const before = await counts();
    for (const token of ['lsc_' + 'A'.repeat(32), 'nonsense', ls.backendPath.split('/')[3] + 'x']) {
      const wrong = new LabelStudioPlayer(t, projectId, `/v1/label-studio/${token}/`, ls.basicAuth);
      const calls = [
        await wrong.health(),
        await wrong.setup(config),
        await wrong.predict([{ id: 1, data: { text: 'hello' } }], config),
        await wrong.event(
          annotationEvent({
            annotationId: 1,
            taskId: 1,
            data: { text: 'x' },
            choice: 'spam',
            labelConfig: config,
          }),
        ),
        await wrong.startTraining(config),
        await wrong.versions(),
      ];
      for (const response of calls) {
        expect(response.status).toBe(404);
        expect(response.body).toMatchObject({
          statusCode: 404,
          message: expect.stringMatching(/unknown Label Studio connector/),
        });
      }
    }
    expect(await counts()).toEqual(before);
  });

  it('refuses a malformed label config with a 400 naming the problem, and keeps no setup', async () => {
    const cases: [string, RegExp][] = [
      ['<View><Text name="text" value="$text"></View>', /not valid XML: Expected closing tag 'Text'/],
      ['<View><Text name="text" value="$text"/></View>', /no <Choices> control/],
      [imageConfig(CHOICES), /<Image name="image"> is labeled, but the project holds text items/],
      [
        '<View><Text name="text" value="$text"/><Choices name="c" toName="nowhere"><Choice value="spam"/></Choices></View>',
        /toName="nowhere" names no <Text>/,
      ],
    ];
    for (const [xml, message] of cases) {
      const response = await ls.setup(xml);
      expect(response.status).toBe(400);
      expect(response.body.message).toMatch(message);
    }
    const missing = await ls.call('POST', 'setup', { project: '1.1' });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toMatch(/schema/);
    expect((await counts()).setups).toBe(0);
  });

  it('refuses choices that differ from the project labels once labels are in use', async () => {
    // Label an item so the project's labels can no longer be swapped for LS's.
    const imported = await t.call('POST', `/v1/projects/${projectId}/items`, [
      { externalId: 'seed', text: 'seed', label: 'spam' },
    ]);
    expect(imported.status).toBe(200);
    const response = await ls.setup(textConfig(['spam', 'eggs']));
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/not in the config: ham; not in the project: eggs/);
    const project = await t.call('GET', `/v1/projects/${projectId}`);
    expect(project.body.labels).toEqual(CHOICES);
    expect((await ls.setup(config)).status).toBe(200);
  });

  it('asks for basic auth on the calls LS makes with credentials, never on event webhooks', async () => {
    const anonymous = await ls.call('POST', 'predict', { tasks: [], label_config: config }, false);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="labelloop"');
    const wrong = new LabelStudioPlayer(t, projectId, ls.backendPath, {
      username: 'ls',
      password: 'not the secret',
    });
    expect((await wrong.health()).status).toBe(401);
    expect((await ls.health()).status).toBe(200);
    const unknown = await ls.event({
      action: 'TASKS_CREATED',
      tasks: [lsTask(1, { text: 'x' })],
      project: {},
    });
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({ status: 'Unknown event', action: 'TASKS_CREATED' });
    expect((await counts()).events).toBe(0);
  });

  it('answers a flood of 1,000 webhooks within 1 s each and records every annotation exactly once', async () => {
    const created = Array.from({ length: 700 }, (_, i) =>
      annotationEvent({
        annotationId: i + 1,
        taskId: i + 1,
        data: { text: `message ${i + 1}` },
        choice: i % 2 === 0 ? 'spam' : 'ham',
        labelConfig: config,
        userId: 7,
      }),
    );
    const resent = created.slice(0, 200);
    const updated = created.slice(0, 100).map((event, i) =>
      annotationEvent({
        action: 'ANNOTATION_UPDATED',
        annotationId: i + 1,
        taskId: i + 1,
        data: event.task.data,
        choice: i % 2 === 0 ? 'ham' : 'spam',
        labelConfig: config,
        userId: 7,
        updatedAt: '2025-05-29T10:00:00.000000Z',
      }),
    );
    // Creations first, then resends and updates interleaved with the tail of them, as a busy LS would.
    const flood = [...created.slice(0, 500), ...interleave(created.slice(500), resent, updated)];
    expect(flood).toHaveLength(1000);
    const latencies: number[] = [];
    let duplicates = 0;
    await inParallel(flood, 16, async (event) => {
      const response = await ls.event(event);
      expect(response.status).toBe(200);
      latencies.push(response.ms);
      duplicates += response.body.duplicates;
    });
    expect(latencies).toHaveLength(1000);
    expect(Math.max(...latencies)).toBeLessThan(1000);
    expect(duplicates).toBe(200);

    const status = await ls.eventsSettled(60_000);
    expect(status.events).toEqual({ pending: 0, processed: 800, failed: 0 });
    const perItem = await t.db.query<{ external_id: string; labels: string[]; label: string }>(
      `SELECT i.external_id, array_agg(a.label ORDER BY a.seq) AS labels, i.label FROM annotations a
       JOIN items i ON i.id = a.item_id WHERE a.annotator = 'label-studio:7' GROUP BY i.external_id, i.label`,
    );
    expect(perItem).toHaveLength(700);
    for (const row of perItem) {
      const task = Number(row.external_id.replace('ls-task-', ''));
      const first = (task - 1) % 2 === 0 ? 'spam' : 'ham';
      const second = first === 'spam' ? 'ham' : 'spam';
      expect(row.labels).toEqual(task <= 100 ? [first, second] : [first]);
      expect(row.label).toBe(row.labels.at(-1));
    }
  }, 120_000);

  it('takes deleted and skipped annotations back: the item becomes unlabeled, once', async () => {
    const before = (await counts()).annotations;
    const deletion = {
      action: 'ANNOTATIONS_DELETED',
      annotations: [{ id: 150 }, { id: 151 }, { id: 99999 }],
      project: {},
    };
    expect((await ls.event(deletion)).status).toBe(200);
    expect((await ls.event(deletion)).body).toMatchObject({ stored: 0, duplicates: 3 });
    const skipped = annotationEvent({
      action: 'ANNOTATION_UPDATED',
      annotationId: 152,
      taskId: 152,
      data: { text: 'message 152' },
      choice: null,
      labelConfig: config,
      userId: 7,
      updatedAt: '2025-05-29T11:00:00.000000Z',
    });
    expect((await ls.event(skipped)).status).toBe(200);
    await ls.eventsSettled();
    const items = await t.db.query<{ external_id: string; label: string | null; last: string | null }>(
      `SELECT i.external_id, i.label,
              (SELECT a.label FROM annotations a WHERE a.item_id = i.id ORDER BY a.seq DESC LIMIT 1) AS last
       FROM items i WHERE i.external_id IN ('ls-task-150', 'ls-task-151', 'ls-task-152', 'ls-task-153')
       ORDER BY i.external_id`,
    );
    expect(items).toEqual([
      { external_id: 'ls-task-150', label: null, last: null },
      { external_id: 'ls-task-151', label: null, last: null },
      { external_id: 'ls-task-152', label: null, last: null },
      { external_id: 'ls-task-153', label: 'spam', last: 'spam' },
    ]);
    expect((await counts()).annotations).toBe(before + 3);
  });

  it('applies events a process stored but never got to (a crash after the reply) from the inbox', async () => {
    const [connector] = await t.db.query<{ id: string }>('SELECT id FROM label_studio_connectors');
    const payload = {
      annotation: {
        id: 5000,
        result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['ham'] } }],
        wasCancelled: false,
        completedBy: '9',
        leadTimeSeconds: 2,
        updatedAt: 'x',
      },
      task: { id: 5000, data: { text: 'left behind' } },
      labelConfig: config,
    };
    // Written as the intake writes it, with no process told about it: only the periodic sweep can find it.
    await t.db.query(
      `INSERT INTO label_studio_events (project_id, connector_id, dedupe_key, action, payload)
       VALUES ($1, $2, 'annotation:5000:x', 'ANNOTATION_CREATED', $3)`,
      [projectId, connector.id, JSON.stringify(payload)],
    );
    await ls.eventsSettled();
    const [row] = await t.db.query<{ label: string; annotator: string; lead_time_ms: number }>(
      `SELECT a.label, a.annotator, a.lead_time_ms FROM annotations a JOIN items i ON i.id = a.item_id
       WHERE i.external_id = 'ls-task-5000'`,
    );
    expect(row).toEqual({ label: 'ham', annotator: 'label-studio:9', lead_time_ms: 2000 });
  });

  it('answers unreadable webhooks 200 with the reason, keeps them as failed events, and applies nothing', async () => {
    const before = await counts();
    const readable = annotationEvent({
      annotationId: 7000,
      taskId: 7000,
      data: { text: 'x' },
      choice: 'spam',
      labelConfig: config,
    });
    const unreadable: [unknown, RegExp][] = [
      [{ project: {} }, /^invalid body: action: a Label Studio webhook names its action$/],
      [{ ...readable, annotation: { ...readable.annotation, id: 'seven' } }, /annotation\.id/],
      [
        { ...readable, task: undefined, annotation: { ...readable.annotation, task: null } },
        /the annotation names no task/,
      ],
      [{ action: 'ANNOTATIONS_DELETED', annotations: 'all', project: {} }, /annotations/],
    ];
    for (const [body, error] of unreadable) {
      const response = await ls.event(body);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ status: 'rejected', error: expect.stringMatching(error) });
    }
    // LS does not retry, but a resend is kept once.
    expect((await ls.event({ project: {} })).status).toBe(200);
    const status = await ls.eventsSettled();
    expect(
      status.failedEvents.slice(0, 4).map((e: { action: string; error: string }) => [e.action, e.error]),
    ).toEqual([
      ['ANNOTATIONS_DELETED', expect.stringMatching(/annotations/)],
      ['ANNOTATION_CREATED', expect.stringMatching(/names no task/)],
      ['ANNOTATION_CREATED', expect.stringMatching(/annotation\.id/)],
      ['(none)', expect.stringMatching(/action/)],
    ]);
    expect(await counts()).toEqual({ ...before, events: before.events + 4 });
  });

  it('refuses a label outside the project label set before recording anything for it', async () => {
    const before = await counts();
    const response = await ls.event(
      annotationEvent({
        annotationId: 6000,
        taskId: 6000,
        data: { text: 'eggs' },
        choice: 'eggs',
        labelConfig: config,
      }),
    );
    expect(response.body).toMatchObject({ status: 'accepted', stored: 1 });
    const status = await ls.eventsSettled();
    expect(status.failedEvents[0]).toMatchObject({
      action: 'ANNOTATION_CREATED',
      error: `task 6000: label "eggs" is not in the project's label set: spam, ham`,
    });
    const mapped = await t.db.query('SELECT 1 FROM label_studio_annotations WHERE ls_annotation_id = 6000');
    expect(mapped).toHaveLength(0);
    expect((await counts()).annotations).toBe(before.annotations);
  });

  it('stops answering a rotated or revoked URL; a project has one active connector', async () => {
    const token = async () =>
      (
        await t.db.query<{ token: string | null }>(
          'SELECT ls_access_token AS token FROM label_studio_connectors',
        )
      )[0].token;
    expect(await token()).toBe('9c1d0a4f5e3b2a1908f7e6d5c4b3a29180f7e6d5');
    const again = await t.call('POST', `/v1/projects/${projectId}/connectors/label-studio`, {});
    expect(again.status).toBe(409);
    const rotated = await t.call('POST', `/v1/projects/${projectId}/connectors/label-studio/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.backendPath).not.toBe(ls.backendPath);
    expect((await ls.health()).status).toBe(404);
    const fresh = new LabelStudioPlayer(t, projectId, rotated.body.backendPath, ls.basicAuth);
    expect((await fresh.health()).status).toBe(200);
    // LS's access token went with the old URL; the next /setup hands it over again.
    expect(await token()).toBeNull();
    expect((await fresh.setup(config)).status).toBe(200);
    expect(await token()).toBe('9c1d0a4f5e3b2a1908f7e6d5c4b3a29180f7e6d5');
    expect((await t.call('DELETE', `/v1/projects/${projectId}/connectors/label-studio`)).status).toBe(204);
    expect((await fresh.health()).status).toBe(404);
    expect(await token()).toBeNull();
    expect((await t.call('GET', `/v1/projects/${projectId}/connectors/label-studio`)).status).toBe(404);
  });
});

function interleave<T>(...lists: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; i < Math.max(...lists.map((l) => l.length)); i++) {
    for (const list of lists) if (i < list.length) out.push(list[i]);
  }
  return out;
}

async function inParallel<T>(list: T[], concurrency: number, work: (entry: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < list.length) await work(list[next++]);
    }),
  );
}
