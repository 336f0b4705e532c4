import { ADMIN_KEY, createKey, createProject, startTestApp, type TestApp } from './support/app';

function basic(password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`ops:${password}`).toString('base64')}` };
}

describe('queue dashboard at /admin/queues', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('asks a browser for credentials when none are sent', async () => {
    const res = await t.call('GET', '/admin/queues', undefined, null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="labelloop queues"/);
    expect(res.body.message).toMatch(/admin API key/);
  });

  it('refuses unknown keys, non-admin keys and project-scoped admin keys', async () => {
    const projectId = await createProject(t);
    const annotator = await createKey(t, 'annotator');
    const scopedAdmin = await createKey(t, 'admin', projectId);
    expect((await t.call('GET', '/admin/queues', undefined, 'not-a-key')).status).toBe(401);
    expect((await t.call('GET', '/admin/queues', undefined, null, basic('not-a-key'))).status).toBe(401);
    expect((await t.call('GET', '/admin/queues', undefined, annotator)).status).toBe(403);
    expect((await t.call('GET', '/admin/queues/api/queues', undefined, scopedAdmin)).status).toBe(403);
  });

  it('serves the board and its API to an admin key, as Bearer or as the Basic password', async () => {
    const page = await t.call('GET', '/admin/queues', undefined, null, basic(ADMIN_KEY));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(String(page.body)).toContain('labelloop queues');

    const api = await t.call('GET', '/admin/queues/api/queues?activeQueue=training', undefined, ADMIN_KEY);
    expect(api.status).toBe(200);
    const names = (api.body.queues as { name: string }[]).map((q) => q.name).sort();
    expect(names).toEqual(['scoring', 'suspects', 'training']);
  });
});
