import { startTestApp, type TestApp } from './support/app';

// One build, the role chosen by LABELLOOP_ROLE: workers serve health and metrics only.
describe.each(['trainer', 'scorer'])('the %s role on its own', (role) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: role });
  });
  afterAll(() => t.close());

  it('boots, connects to its dependencies and reports ready', async () => {
    const ready = await t.call('GET', '/health/ready', undefined, null);
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.checks).sort()).toEqual(['database', 'objectStore', 'redis']);
    expect((await t.call('GET', '/metrics', undefined, null)).body).toContain('process_cpu_seconds_total');
  });

  it('does not serve the REST API or its documentation', async () => {
    expect((await t.call('GET', '/v1/projects')).status).toBe(404);
    expect((await t.call('GET', '/docs', undefined, null)).status).toBe(404);
  });
});
