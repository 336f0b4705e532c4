import { Readable } from 'node:stream';
import { ADMIN_KEY, createProject, startTestApp, type TestApp } from './support/app';

// An import is all or nothing and names the line at fault; what would make the server buffer without bound
// (a line that never ends) or guess (the same externalId twice) is refused.
describe('import limits', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'api', BODY_LIMIT_BYTES: '1048576' });
  });
  afterAll(() => t.close());

  function ndjson(projectId: string, chunks: Iterable<string>) {
    return fetch(`${t.baseUrl}/v1/projects/${projectId}/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(Readable.from(chunks)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
  }

  it('refuses a line longer than the body limit as soon as it passes it, naming the line', async () => {
    const projectId = await createProject(t);
    function* body() {
      yield `${JSON.stringify({ externalId: 'ok', text: 'fine' })}\n`;
      // 8 MB without a newline, sent in 64 KB chunks: never buffered whole.
      for (let i = 0; i < 128; i++) yield 'x'.repeat(65_536);
    }
    const response = await ndjson(projectId, body());
    expect(response.status).toBe(400);
    const error = (await response.json()) as { message: string };
    expect(error.message).toMatch(/line 2: longer than 1048576 characters/);
    expect((await t.call('GET', `/v1/projects/${projectId}/items`)).body.data).toEqual([]);
  });

  it('refuses the same externalId twice in one request, naming both lines', async () => {
    const projectId = await createProject(t);
    const lines = [
      { externalId: 'a', text: 'first' },
      { externalId: 'b', text: 'other' },
      { externalId: 'a', text: 'second, different' },
    ].map((item) => `${JSON.stringify(item)}\n`);
    const response = await ndjson(projectId, lines);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(
      /line 3: externalId "a" already appears at line 1/,
    );
    const json = await t.call('POST', `/v1/projects/${projectId}/items`, [
      { externalId: 'a', text: 'x' },
      { externalId: 'a', text: 'x' },
    ]);
    expect(json.status).toBe(400);
    expect(json.body.message).toMatch(/item 2: externalId "a" already appears at item 1/);
    expect((await t.call('GET', `/v1/projects/${projectId}/items`)).body.data).toEqual([]);
  });
});
