import { createProject, startTestApp, type TestApp } from './support/app';
import { annotationEvent, LabelStudioPlayer, textConfig } from './support/label-studio';

// The webhook URL is the only credential of event webhooks, so whoever holds it must not be able to grow the
// database without bound: unreadable bodies, a backlog of events, and the bodies of events already handled.
// The documented bounds (README, Use with Label Studio), per connector.
const MAX_FAILED_EVENTS = 100;
const MAX_WAITING_EVENTS = 10_000;

describe('Label Studio webhook storage bounds', () => {
  let t: TestApp;
  let projectId: string;
  let ls: LabelStudioPlayer;
  const config = textConfig(['spam', 'ham']);

  const eventRows = async () =>
    (
      await t.db.query<{ total: number; failed: number }>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE error IS NOT NULL)::int AS failed
         FROM label_studio_events`,
      )
    )[0];

  beforeAll(async () => {
    t = await startTestApp();
    projectId = await createProject(t, { labels: ['spam', 'ham'] });
    ls = await LabelStudioPlayer.connect(t, projectId);
    expect((await ls.setup(config)).status).toBe(200);
  });
  afterAll(() => t?.close());

  it(`keeps at most ${MAX_FAILED_EVENTS} unreadable webhooks of a connector, still answering each 200`, async () => {
    const garbage = 3 * MAX_FAILED_EVENTS;
    const answers = [];
    for (let i = 0; i < garbage; i++) {
      answers.push(await ls.event({ action: 'ANNOTATION_CREATED', junk: i, padding: 'x'.repeat(60_000) }));
    }
    expect(answers.every((answer) => answer.status === 200 && answer.body.status === 'rejected')).toBe(true);
    expect(answers[0].body.stored).toBeUndefined();
    expect(answers[garbage - 1].body).toMatchObject({ status: 'rejected', stored: false });
    expect(await eventRows()).toEqual({ total: MAX_FAILED_EVENTS, failed: MAX_FAILED_EVENTS });
    // Readable events are still taken and applied.
    const readable = await ls.event(
      annotationEvent({
        annotationId: 1,
        taskId: 1,
        data: { text: 'a' },
        choice: 'spam',
        labelConfig: config,
      }),
    );
    expect(readable.body).toMatchObject({ status: 'accepted', stored: 1 });
    await ls.eventsSettled();
  });

  it('keeps no body once an event is applied or given up on', async () => {
    await ls.event(
      annotationEvent({
        annotationId: 2,
        taskId: 2,
        data: { text: 'b' },
        choice: 'ham',
        labelConfig: config,
      }),
    );
    await ls.event(
      annotationEvent({
        annotationId: 3,
        taskId: 3,
        data: { text: 'c' },
        choice: 'eggs',
        labelConfig: config,
      }),
    );
    const status = await ls.eventsSettled();
    expect(status.failedEvents[0].error).toMatch(/label "eggs" is not in the project's label set/);
    const rows = await t.db.query<{ key: string; payload: unknown; processed: boolean }>(
      `SELECT dedupe_key AS key, payload, processed_at IS NOT NULL AS processed FROM label_studio_events
       WHERE dedupe_key LIKE 'annotation:%' ORDER BY id`,
    );
    expect(rows).toEqual([
      { key: expect.stringMatching(/^annotation:1:/), payload: {}, processed: true },
      { key: expect.stringMatching(/^annotation:2:/), payload: {}, processed: true },
      { key: expect.stringMatching(/^annotation:3:/), payload: {}, processed: false },
    ]);
    // A resend of an applied event is still recognized.
    const resent = await ls.event(
      annotationEvent({
        annotationId: 2,
        taskId: 2,
        data: { text: 'b' },
        choice: 'ham',
        labelConfig: config,
      }),
    );
    expect(resent.body).toMatchObject({ status: 'accepted', stored: 0, duplicates: 1 });
  });

  it(`answers 429 and stores nothing while ${MAX_WAITING_EVENTS} events of the connector wait`, async () => {
    const [connector] = await t.db.query<{ id: string }>(
      'SELECT id FROM label_studio_connectors WHERE revoked_at IS NULL',
    );
    // A backlog the processor cannot take yet (each waits for a retry an hour away).
    await t.db.query(
      `INSERT INTO label_studio_events (project_id, connector_id, dedupe_key, action, payload, attempts, retry_at)
       SELECT $1, $2, 'backlog:' || n, 'ANNOTATION_CREATED', '{}'::jsonb, 1, now() + interval '1 hour'
       FROM generate_series(1, $3::int) AS n`,
      [projectId, connector.id, MAX_WAITING_EVENTS],
    );
    const before = await eventRows();
    const event = annotationEvent({
      annotationId: 4,
      taskId: 4,
      data: { text: 'd' },
      choice: 'spam',
      labelConfig: config,
    });
    const refused = await ls.event(event);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.body).toMatchObject({ statusCode: 429, message: expect.stringMatching(/was not stored/) });
    expect(await eventRows()).toEqual(before);

    await t.db.query(`DELETE FROM label_studio_events WHERE dedupe_key LIKE 'backlog:%'`);
    const accepted = await ls.event(event);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ status: 'accepted', stored: 1 });
  });
});
