import { createHash, randomUUID } from 'node:crypto';
import { ADMIN_KEY, createKey, createProject, startTestApp, textItems, type TestApp } from './support/app';
import { expectRejectedWithoutWrites } from './support/expect';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('API keys and roles', () => {
  let t: TestApp;
  let projectId: string;

  beforeAll(async () => {
    t = await startTestApp();
    projectId = await createProject(t, { name: 'auth' });
    await t.call('POST', `/v1/projects/${projectId}/items`, textItems(3, 'auth'));
  });
  afterAll(() => t.close());

  describe('key secrets', () => {
    const created: Record<string, { id: string; key: string }> = {};

    beforeAll(async () => {
      for (const role of ['admin', 'annotator', 'viewer']) {
        const response = await t.call('POST', '/v1/api-keys', { name: `${role} key`, role });
        expect(response.status).toBe(201);
        created[role] = response.body;
      }
    });

    it('returns the secret once, on creation', async () => {
      for (const [role, key] of Object.entries(created)) {
        expect(key).toMatchObject({
          id: expect.any(String),
          name: `${role} key`,
          role,
          projectId: null,
          revokedAt: null,
        });
        expect(key.key).toMatch(/^ll_[\w-]{20,}$/);
      }
      expect(new Set(Object.values(created).map((key) => key.key)).size).toBe(3);
    });

    it('never lists the secret or its hash', async () => {
      const response = await t.call('GET', '/v1/api-keys');
      expect(response.status).toBe(200);
      const listed = response.body.data.filter((key: { id: string }) =>
        Object.values(created).some((made) => made.id === key.id),
      );
      expect(listed).toHaveLength(3);
      for (const key of listed) {
        expect(Object.keys(key).sort()).toEqual([
          'createdAt',
          'id',
          'name',
          'prefix',
          'projectId',
          'revokedAt',
          'role',
        ]);
      }
      const text = JSON.stringify(response.body);
      for (const { key } of Object.values(created)) {
        expect(text).not.toContain(key);
        expect(text).not.toContain(sha256(key));
      }
      expect(text).not.toContain(ADMIN_KEY);
    });

    it('stores only a sha256 hash of the secret', async () => {
      for (const { id, key } of Object.values(created)) {
        const [row] = await t.db.query<{ key_hash: string; prefix: string }>(
          `SELECT key_hash, prefix FROM api_keys WHERE id = $1`,
          [id],
        );
        expect(row.key_hash).not.toBe(key);
        expect(row.key_hash).toBe(sha256(key));
        expect(key.startsWith(row.prefix)).toBe(true);
        expect(row.prefix.length).toBeLessThan(key.length / 2);
      }
      const [{ n }] = await t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM api_keys WHERE key_hash = ANY($1) OR prefix = ANY($1)`,
        [Object.values(created).map((made) => made.key)],
      );
      expect(n).toBe(0);
    });

    it('refuses a bad role, naming the field, and a missing project, writing nothing', async () => {
      const bad = await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', '/v1/api-keys', { name: 'x', role: 'owner' }),
        400,
        /^invalid body: role: /,
      );
      expect(bad.body.details).toEqual([{ field: 'role', reason: expect.any(String) }]);
      const missing = randomUUID();
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', '/v1/api-keys', { name: 'x', role: 'viewer', projectId: missing }),
        404,
        `project ${missing} not found`,
      );
    });
  });

  describe('roles', () => {
    let viewer: string;
    let annotator: string;

    beforeAll(async () => {
      viewer = await createKey(t, 'viewer', null, 'vera');
      annotator = await createKey(t, 'annotator', null, 'anna');
    });

    it('a viewer can read', async () => {
      for (const path of ['/v1/projects', `/v1/projects/${projectId}`, `/v1/projects/${projectId}/items`]) {
        expect((await t.call('GET', path, undefined, viewer)).status).toBe(200);
      }
      const stats = await t.call('GET', `/v1/projects/${projectId}/stats`, undefined, viewer);
      expect(stats.status).toBe(200);
      expect(stats.body.items).toBe(3);
    });

    it('a viewer cannot write, lease or manage keys', async () => {
      const [item] = await t.db.query<{ id: string }>(`SELECT id FROM items WHERE project_id = $1 LIMIT 1`, [
        projectId,
      ]);
      const attempts: [string, string, unknown, string][] = [
        ['POST', '/v1/projects', { name: 'p', inputKind: 'text', labels: ['a', 'b'] }, 'admin'],
        ['POST', `/v1/projects/${projectId}/items`, textItems(1, 'v'), 'admin'],
        ['GET', `/v1/projects/${projectId}/tasks/next`, undefined, 'annotator'],
        ['POST', `/v1/items/${item.id}/annotations`, { label: 'spam' }, 'annotator'],
        ['GET', '/v1/api-keys', undefined, 'admin'],
        ['POST', '/v1/api-keys', { name: 'mine', role: 'admin' }, 'admin'],
      ];
      for (const [method, path, body, needed] of attempts) {
        await expectRejectedWithoutWrites(
          t,
          () => t.call(method, path, body, viewer),
          403,
          `this route needs the ${needed} role; the key has viewer`,
        );
      }
      const [open] = await t.db.query(
        `SELECT count(*)::int AS n FROM tasks WHERE status = 'open' AND project_id = $1`,
        [projectId],
      );
      expect(open.n).toBe(3);
    });

    it('an annotator can lease and label', async () => {
      const [task] = (await t.call('GET', `/v1/projects/${projectId}/tasks/next`, undefined, annotator)).body
        .data;
      const labeled = await t.call('POST', `/v1/tasks/${task.id}/annotation`, { label: 'ham' }, annotator);
      expect(labeled.status).toBe(201);
      const [row] = await t.db.query(`SELECT label, annotator FROM annotations WHERE id = $1`, [
        labeled.body.annotationId,
      ]);
      expect(row).toEqual({ label: 'ham', annotator: 'anna' });
    });

    it('an annotator cannot create projects, import or manage keys', async () => {
      const attempts: [string, string, unknown][] = [
        ['POST', '/v1/projects', { name: 'p', inputKind: 'text', labels: ['a', 'b'] }],
        ['PATCH', `/v1/projects/${projectId}`, { name: 'renamed' }],
        ['POST', `/v1/projects/${projectId}/items`, textItems(1, 'a')],
        ['POST', '/v1/api-keys', { name: 'mine', role: 'admin' }],
      ];
      for (const [method, path, body] of attempts) {
        await expectRejectedWithoutWrites(
          t,
          () => t.call(method, path, body, annotator),
          403,
          'this route needs the admin role; the key has annotator',
        );
      }
      const [project] = await t.db.query(`SELECT name FROM projects WHERE id = $1`, [projectId]);
      expect(project.name).toBe('auth');
    });
  });

  describe('project scope', () => {
    it('a scoped key only sees its own project in the list', async () => {
      const mine = await createProject(t, { name: 'mine' });
      await createProject(t, { name: 'theirs' });
      const scoped = await createKey(t, 'viewer', mine, 'scoped viewer');
      const unscoped = await createKey(t, 'viewer', null, 'unscoped viewer');

      const seen = await t.call('GET', '/v1/projects?limit=500', undefined, scoped);
      expect(seen.status).toBe(200);
      expect(seen.body.data.map((project: { id: string }) => project.id)).toEqual([mine]);
      expect(seen.body.nextCursor).toBeNull();

      const all = await t.call('GET', '/v1/projects?limit=500', undefined, unscoped);
      const [{ n }] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM projects`);
      expect(all.body.data).toHaveLength(n);
      expect(n).toBeGreaterThanOrEqual(3);
    });
  });

  describe("a project-scoped admin key manages only its own project's keys", () => {
    let mine: string;
    let theirs: string;
    let scopedAdmin: string;
    let theirKeyId: string;

    beforeAll(async () => {
      mine = await createProject(t, { name: 'scoped admin home' });
      theirs = await createProject(t, { name: 'scoped admin elsewhere' });
      scopedAdmin = await createKey(t, 'admin', mine, 'project admin');
      theirKeyId = (
        await t.call('POST', '/v1/api-keys', { name: 'their key', role: 'viewer', projectId: theirs })
      ).body.id;
    });

    it('creates keys for its own project', async () => {
      const response = await t.call(
        'POST',
        '/v1/api-keys',
        { name: 'helper', role: 'annotator', projectId: mine },
        scopedAdmin,
      );
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({ role: 'annotator', projectId: mine });
    });

    it('cannot mint an unscoped key or a key for another project', async () => {
      for (const projectId of [null, undefined, theirs]) {
        await expectRejectedWithoutWrites(
          t,
          () => t.call('POST', '/v1/api-keys', { name: 'escape', role: 'admin', projectId }, scopedAdmin),
          403,
          `this API key is scoped to project ${mine}`,
        );
      }
    });

    it("lists only its own project's keys", async () => {
      const listed = await t.call('GET', '/v1/api-keys', undefined, scopedAdmin);
      expect(listed.status).toBe(200);
      expect(listed.body.data.length).toBeGreaterThan(0);
      expect(listed.body.data.every((key: { projectId: string }) => key.projectId === mine)).toBe(true);
      await expectRejectedWithoutWrites(
        t,
        () => t.call('GET', `/v1/api-keys?projectId=${theirs}`, undefined, scopedAdmin),
        403,
        `this API key is scoped to project ${mine}`,
      );
    });

    it('cannot create a project, which it could not read', async () => {
      await expectRejectedWithoutWrites(
        t,
        () =>
          t.call(
            'POST',
            '/v1/projects',
            { name: 'escape', inputKind: 'text', labels: ['a', 'b'] },
            scopedAdmin,
          ),
        403,
        `this API key is scoped to project ${mine}`,
      );
    });

    it("cannot revoke another project's key", async () => {
      await expectRejectedWithoutWrites(
        t,
        () => t.call('DELETE', `/v1/api-keys/${theirKeyId}`, undefined, scopedAdmin),
        403,
        `this API key is scoped to project ${mine}`,
      );
      const [row] = await t.db.query(`SELECT revoked_at FROM api_keys WHERE id = $1`, [theirKeyId]);
      expect(row.revoked_at).toBeNull();
    });
  });

  describe('revocation', () => {
    it('a revoked key is refused at once with 401, and the row is kept as revoked', async () => {
      const response = await t.call('POST', '/v1/api-keys', { name: 'leaver', role: 'viewer' });
      const { id, key } = response.body;
      expect((await t.call('GET', '/v1/projects', undefined, key)).status).toBe(200);

      const revoked = await t.call('DELETE', `/v1/api-keys/${id}`);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ id, revokedAt: expect.any(String) });
      expect(revoked.body.key).toBeUndefined();

      await expectRejectedWithoutWrites(
        t,
        () => t.call('GET', '/v1/projects', undefined, key),
        401,
        'unknown or revoked API key',
      );
      const [row] = await t.db.query(`SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = $1`, [
        id,
      ]);
      expect(row).toEqual({ revoked: true });
    });

    it('revoking an unknown key is a 404', async () => {
      const missing = randomUUID();
      await expectRejectedWithoutWrites(
        t,
        () => t.call('DELETE', `/v1/api-keys/${missing}`),
        404,
        `API key ${missing} not found`,
      );
    });
  });
});
