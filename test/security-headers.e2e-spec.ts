import { ApiKeyService } from '../apps/api/src/auth/api-key.service';
import { ADMIN_KEY, createProject, startTestApp, type TestApp } from './support/app';

/** The `src` of each `<script>` of a page; an inline script (which the CSP would block) fails the test. */
function scriptSources(html: string): string[] {
  return [...html.matchAll(/<script\b([^>]*)>/g)].flatMap(([, attributes]) => {
    const src = /\bsrc="([^"]+)"/.exec(attributes);
    if (src) return [src[1]];
    // A data block (bull-board's UI config) is not run, so the CSP does not apply to it.
    expect(attributes).toMatch(/type="application\/json"/);
    return [];
  });
}

// Browser-facing protections on every response, the two HTML pages still working under the CSP, and secrets
// that are shown once staying out of caches and out of key listings.
describe('security headers and secrets', () => {
  let t: TestApp;
  const dashboardAuth = {
    authorization: `Basic ${Buffer.from(`ops:${ADMIN_KEY}`).toString('base64')}`,
  };

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('sends nosniff, no framing and a CSP on API answers, errors and health checks', async () => {
    for (const [path, status] of [
      ['/v1/projects', 200],
      ['/v1/nowhere', 404],
      ['/health/live', 200],
    ] as const) {
      const response = await t.call('GET', path);
      expect({ path, status: response.status }).toEqual({ path, status });
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'self'");
      // It would send browsers to https for the pages' own scripts on a plain-http deployment.
      expect(csp).not.toContain('upgrade-insecure-requests');
    }
  });

  it('serves Swagger UI at /docs with a CSP its scripts, styles and icons fit', async () => {
    const page = await t.call('GET', '/docs', undefined, null);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src [^;]*'unsafe-inline'/);
    expect(csp).toMatch(/img-src [^;]*data:/);
    const html = String(page.body);
    expect(html).toMatch(/<style>/);
    const scripts = scriptSources(html);
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    for (const src of scripts) {
      const url = new URL(src, `${t.baseUrl}/docs`);
      expect(url.origin).toBe(t.baseUrl);
      const script = await t.call('GET', url.pathname, undefined, null);
      expect({ src, status: script.status }).toEqual({ src, status: 200 });
    }
  });

  it('serves the queue dashboard with a CSP its scripts and styles fit', async () => {
    const page = await t.call('GET', '/admin/queues', undefined, null, dashboardAuth);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src [^;]*'unsafe-inline'/);
    const scripts = scriptSources(String(page.body));
    expect(scripts.length).toBeGreaterThanOrEqual(1);
    for (const src of scripts) {
      const url = new URL(src, `${t.baseUrl}/admin/queues/`);
      expect(url.origin).toBe(t.baseUrl);
      const script = await t.call('GET', url.pathname, undefined, null, dashboardAuth);
      expect({ src, status: script.status }).toEqual({ src, status: 200 });
    }
  });

  it('marks the answers that carry a new API key or connector token no-store', async () => {
    const key = await t.call('POST', '/v1/api-keys', { name: 'ci', role: 'viewer' });
    expect(key.status).toBe(201);
    expect(key.headers.get('cache-control')).toBe('no-store');
    const projectId = await createProject(t);
    const connector = await t.call('POST', `/v1/projects/${projectId}/connectors/label-studio`, {});
    expect(connector.status).toBe(201);
    expect(connector.headers.get('cache-control')).toBe('no-store');
    const rotated = await t.call('POST', `/v1/projects/${projectId}/connectors/label-studio/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
  });

  it('lists the ADMIN_API_KEY key without any part of the key, also when an older version stored one', async () => {
    const adminRow = async () => {
      const listed = await t.call('GET', '/v1/api-keys');
      expect(listed.status).toBe(200);
      expect(JSON.stringify(listed.body)).not.toContain(ADMIN_KEY.slice(0, 4));
      return listed.body.data.find((key: { name: string }) => key.name === 'admin (ADMIN_API_KEY)');
    };
    expect(await adminRow()).toMatchObject({ role: 'admin', prefix: '' });

    await t.db.query(`UPDATE api_keys SET prefix = $1 WHERE name = 'admin (ADMIN_API_KEY)'`, [
      ADMIN_KEY.slice(0, 8),
    ]);
    await t.app.get(ApiKeyService).bootstrapAdmin();
    expect(await adminRow()).toMatchObject({ prefix: '' });
  });
});
