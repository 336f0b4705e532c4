import { Client } from 'pg';
import {
  createKey,
  createProject,
  startTestApp,
  textItems,
  type TestApp,
  type TestResponse,
} from './support/app';
import { expectError } from './support/expect';

// An Idempotency-Key is reserved before the handler runs: concurrent duplicates never write twice, a client
// that gave up and retries gets the first answer (or a 409 with Retry-After while it still runs), and a
// reservation left by a dead process expires.
describe('Idempotency-Key under concurrency', () => {
  let t: TestApp;
  let annotator: string;
  /** Items labeled through their own route; the tasks tests lease from another project. */
  let itemIds: string[];
  let tasksProjectId: string;

  beforeAll(async () => {
    t = await startTestApp();
    annotator = await createKey(t, 'annotator', null, 'ann');
    const itemsProjectId = await createProject(t);
    await t.call('POST', `/v1/projects/${itemsProjectId}/items`, textItems(4, 'race'));
    const rows = await t.db.query<{ id: string }>(
      'SELECT id FROM items WHERE project_id = $1 ORDER BY external_id',
      [itemsProjectId],
    );
    itemIds = rows.map((row) => row.id);
    tasksProjectId = await createProject(t);
    await t.call('POST', `/v1/projects/${tasksProjectId}/items`, textItems(4, 'tasks'));
  });
  afterAll(() => t.close());

  const keyed = (key: string) => ({ 'idempotency-key': key });

  async function annotationsOf(itemId: string): Promise<{ label: string | null; source: string }[]> {
    return t.db.query('SELECT label, source FROM annotations WHERE item_id = $1 ORDER BY seq', [itemId]);
  }

  function times<T>(n: number, request: (i: number) => Promise<T>): Promise<T[]> {
    return Promise.all(Array.from({ length: n }, (_, i) => request(i)));
  }

  it('writes one annotation for 20 simultaneous submits with one key, and answers all 20 alike', async () => {
    const itemId = itemIds[0];
    const body = { label: 'spam', leadTimeMs: 1200 };
    const answers = await times(20, () =>
      t.call('POST', `/v1/items/${itemId}/annotations`, body, annotator, keyed('same-body')),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(201));
    for (const answer of answers) expect(answer.body).toEqual(answers[0].body);
    expect(await annotationsOf(itemId)).toEqual([{ label: 'spam', source: 'review' }]);
    expect(answers[0].body.itemId).toBe(itemId);
  });

  it('writes one annotation for 20 simultaneous submits of different bodies with one key; the rest get 422', async () => {
    const itemId = itemIds[1];
    const answers = await times(20, (i) =>
      t.call(
        'POST',
        `/v1/items/${itemId}/annotations`,
        { label: i % 2 === 0 ? 'spam' : 'ham', leadTimeMs: i },
        annotator,
        keyed('other-bodies'),
      ),
    );
    const created = answers.filter((answer) => answer.status === 201);
    expect(created).toHaveLength(1);
    for (const answer of answers.filter((a) => a.status !== 201)) {
      expectError(answer, 422, 'Idempotency-Key was already used for a different request');
    }
    const rows = await t.db.query('SELECT label, lead_time_ms FROM annotations WHERE item_id = $1', [itemId]);
    expect(rows).toEqual([{ label: created[0].body.label, lead_time_ms: created[0].body.leadTimeMs }]);
  });

  it('reverts once for 20 simultaneous reverts with one key', async () => {
    const itemId = itemIds[2];
    await t.call('POST', `/v1/items/${itemId}/annotations`, { label: 'spam' }, annotator);
    const second = await t.call('POST', `/v1/items/${itemId}/annotations`, { label: 'ham' }, annotator);
    const answers = await times(20, () =>
      t.call('POST', `/v1/annotations/${second.body.id}/revert`, undefined, annotator, keyed('revert')),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(201));
    for (const answer of answers) expect(answer.body).toEqual(answers[0].body);
    expect(await annotationsOf(itemId)).toEqual([
      { label: 'spam', source: 'review' },
      { label: 'ham', source: 'review' },
      { label: 'spam', source: 'review' },
    ]);
  });

  it('closes a task once for 20 simultaneous task submits with one key', async () => {
    const leased = await t.call(
      'GET',
      `/v1/projects/${tasksProjectId}/tasks/next?limit=1`,
      undefined,
      annotator,
    );
    const [task] = leased.body.data;
    const answers = await times(20, () =>
      t.call('POST', `/v1/tasks/${task.id}/annotation`, { label: 'ham' }, annotator, keyed('task-submit')),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(201));
    for (const answer of answers) expect(answer.body).toEqual(answers[0].body);
    expect(await annotationsOf(task.itemId)).toEqual([{ label: 'ham', source: 'human' }]);
  });

  it('gives a client that timed out and retried the in-progress 409 with Retry-After, then the first answer', async () => {
    const itemId = itemIds[3];
    const path = `/v1/items/${itemId}/annotations`;
    const body = { label: 'ham' };
    // A lock on the item's row holds the first request inside its handler, as a slow database would.
    const locker = new Client({ connectionString: t.db.url });
    await locker.connect();
    let first: Promise<TestResponse> | undefined;
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM items WHERE id = $1 FOR UPDATE', [itemId]);
      first = t.call('POST', path, body, annotator, keyed('slow'));
      await new Promise((done) => setTimeout(done, 500));

      const started = Date.now();
      const retry = await fetch(t.baseUrl + path, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${annotator}`,
          'content-type': 'application/json',
          'idempotency-key': 'slow',
        },
        body: JSON.stringify(body),
        // Without a reservation the retry runs the handler and waits on the lock as long as it is held.
        signal: AbortSignal.timeout(15_000),
      });
      expect(retry.status).toBe(409);
      expect(retry.headers.get('retry-after')).toBe('1');
      expect(((await retry.json()) as { message: string }).message).toMatch(
        /Idempotency-Key is still in progress/,
      );
      // It waited a while for the answer before giving up.
      expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
    } finally {
      await locker.query('COMMIT');
      await locker.end();
    }
    const answer = await first;
    expect(answer.status).toBe(201);
    const again = await t.call('POST', path, body, annotator, keyed('slow'));
    expect(again.status).toBe(201);
    expect(again.body).toEqual(answer.body);
    expect(await annotationsOf(itemId)).toEqual([{ label: 'ham', source: 'review' }]);
  });

  it('lets a retry run after the handler failed, and take over a reservation its dead process left', async () => {
    // A submit refused (the task is not leased to the caller) gives its reservation back ...
    const leased = await t.call(
      'GET',
      `/v1/projects/${tasksProjectId}/tasks/next?limit=1`,
      undefined,
      annotator,
    );
    const [task] = leased.body.data;
    await t.call('POST', `/v1/tasks/${task.id}/release`, undefined, annotator);
    const submit = () =>
      t.call('POST', `/v1/tasks/${task.id}/annotation`, { label: 'spam' }, annotator, keyed('after-fail'));
    expect((await submit()).status).toBe(409);
    // ... so the same request, once the task is leased again, is done.
    const [again] = (
      await t.call('GET', `/v1/projects/${tasksProjectId}/tasks/next?limit=1`, undefined, annotator)
    ).body.data;
    expect(again.id).toBe(task.id);
    expect((await submit()).status).toBe(201);
    expect(await annotationsOf(task.itemId)).toEqual([{ label: 'spam', source: 'human' }]);

    // A reservation without an answer from a minute ago is one whose process died mid-request.
    const itemId = itemIds[3];
    const path = `/v1/items/${itemId}/annotations`;
    const body = { label: 'spam' };
    const done = await t.call('POST', path, body, annotator, keyed('template'));
    const before = (await annotationsOf(itemId)).length;
    await t.db.query(
      `INSERT INTO idempotent_requests (api_key_id, key, route, request_hash, created_at)
       SELECT api_key_id, 'orphan', route, request_hash, now() - interval '61 seconds'
       FROM idempotent_requests WHERE key = 'template'`,
    );
    const taken = await t.call('POST', path, body, annotator, keyed('orphan'));
    expect(taken.status).toBe(201);
    expect(taken.body.id).not.toBe(done.body.id);
    expect(await annotationsOf(itemId)).toHaveLength(before + 1);
    const replay = await t.call('POST', path, body, annotator, keyed('orphan'));
    expect(replay.body).toEqual(taken.body);
    expect(await annotationsOf(itemId)).toHaveLength(before + 1);
  });
});
