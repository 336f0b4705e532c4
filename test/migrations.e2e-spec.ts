import { mkdtempSync, cpSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { applyMigrations, createPrisma, migrationsDir, type Prisma } from '@labelloop/db';
import { createTestDatabase, type TestDatabase } from './support/database';

describe('SQL migrations and schema.prisma', () => {
  let db: TestDatabase;
  let pool: Pool;
  let prisma: Prisma;

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await pool?.end();
    await db.drop();
  });

  it('apply to an empty database and are recorded the way prisma migrate records them', async () => {
    const result = await applyMigrations(db.url);
    expect(result.applied.length).toBeGreaterThan(0);
    const rows = await db.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((row) => row.migration_name)).toEqual(result.applied);
    for (const row of rows) {
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).not.toBeNull();
    }
  });

  it('apply nothing the second time', async () => {
    const again = await applyMigrations(db.url);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied.length).toBeGreaterThan(0);
  });

  it('refuse a migration edited after it was applied', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'labelloop-migrations-'));
    cpSync(migrationsDir(), copy, { recursive: true });
    const first = (
      await db.query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations')
    )[0];
    appendFileSync(join(copy, first.migration_name, 'migration.sql'), '\n-- edited\n');
    await expect(applyMigrations(db.url, copy)).rejects.toThrow(/changed after it was applied/);
  });

  it('give every model of schema.prisma a table the generated client can write and read in full', async () => {
    pool = new Pool({ connectionString: db.url, max: 2 });
    prisma = createPrisma(pool);
    const project = await prisma.project.create({
      data: {
        name: 'p',
        inputKind: 'image',
        labels: ['a', 'b'],
        modelSpec: { architecture: 'mlp' },
        acquisitionSpec: { strategy: 'margin' },
        holdoutFraction: 0.1,
        seed: 7,
      },
    });
    const item = await prisma.item.create({
      data: {
        projectId: project.id,
        externalId: 'x1',
        payload: { pixels: [0, 1] },
        objectKey: 'k',
        contentHash: 'h',
        split: 'holdout',
        metadata: { a: 1 },
        coldPriority: 0.5,
        label: 'a',
        labeledAt: new Date(),
        deletedAt: new Date('2026-12-02T00:00:00Z'),
      },
    });
    const annotation = await prisma.annotation.create({
      data: {
        projectId: project.id,
        itemId: item.id,
        label: 'a',
        annotator: 'me',
        leadTimeMs: 5,
        source: 'review',
      },
    });
    const version = await prisma.datasetVersion.create({
      data: {
        projectId: project.id,
        number: 1,
        watermark: annotation.seq,
        message: 'm',
        author: 'me',
        counts: {},
      },
    });
    const child = await prisma.datasetVersion.create({
      data: {
        projectId: project.id,
        number: 2,
        watermark: annotation.seq,
        parentId: version.id,
        message: 'm2',
        author: 'me',
        counts: { labeled: 1 },
      },
    });
    const model = await prisma.modelVersion.create({
      data: {
        projectId: project.id,
        number: 1,
        datasetVersionId: child.id,
        runId: 'run-1',
        status: 'ready',
        spec: {},
        metrics: { accuracy: 1 },
        backend: 'cpu',
        trainMs: 10,
        artifactKey: 'models/1',
        promoted: true,
        error: null,
        readyAt: new Date(),
      },
    });
    await prisma.task.create({
      data: {
        projectId: project.id,
        itemId: item.id,
        priority: 1.5,
        preLabel: 'b',
        preLabelProb: 0.7,
        status: 'leased',
        leaseOwner: 'k',
        leaseExpiresAt: new Date(),
      },
    });
    await prisma.prediction.create({
      data: {
        projectId: project.id,
        itemId: item.id,
        modelVersionId: model.id,
        label: 'b',
        probability: 0.7,
        probabilities: [0.3, 0.7],
        uncertainty: 0.4,
      },
    });
    await prisma.suspect.create({
      data: {
        projectId: project.id,
        itemId: item.id,
        modelVersionId: model.id,
        givenLabel: 'a',
        suggestedLabel: 'b',
        score: 0.9,
        rank: 1,
        flagged: true,
      },
    });
    await prisma.stopSetItem.create({ data: { projectId: project.id, itemId: item.id } });
    await prisma.stopSetPrediction.create({
      data: { modelVersionId: model.id, itemId: item.id, label: 'b' },
    });
    const key = await prisma.apiKey.create({
      data: {
        name: 'k',
        keyHash: 'hash',
        prefix: 'll_',
        role: 'viewer',
        projectId: project.id,
        revokedAt: null,
      },
    });
    await prisma.idempotentRequest.create({
      data: {
        apiKeyId: key.id,
        key: 'idem',
        route: 'POST /x',
        requestHash: 'r',
        statusCode: 201,
        response: { ok: true },
      },
    });

    const full = await prisma.project.findUniqueOrThrow({
      where: { id: project.id },
      include: {
        items: { include: { annotations: true, task: true, prediction: true, suspect: true } },
        datasetVersions: { include: { parent: true, children: true, modelVersions: true } },
        modelVersions: { include: { stopSetPredictions: true } },
        stopSetItems: true,
        apiKeys: { include: { idempotentRequests: true } },
      },
    });
    expect(full.items[0]).toMatchObject({
      externalId: 'x1',
      split: 'holdout',
      coldPriority: 0.5,
      label: 'a',
      deletedAt: new Date('2026-12-02T00:00:00Z'),
    });
    expect(full.items[0].annotations[0]).toMatchObject({ source: 'review', leadTimeMs: 5 });
    expect(full.items[0].task).toMatchObject({ status: 'leased', preLabel: 'b' });
    expect(full.items[0].prediction?.probabilities).toEqual([0.3, 0.7]);
    expect(full.items[0].suspect?.suggestedLabel).toBe('b');
    expect(full.datasetVersions.find((v) => v.number === 2)?.parent?.id).toBe(version.id);
    expect(full.modelVersions[0]).toMatchObject({ promoted: true, runId: 'run-1' });
    expect(full.modelVersions[0].stopSetPredictions).toEqual([
      { modelVersionId: model.id, itemId: item.id, label: 'b' },
    ]);
    expect(full.stopSetItems).toEqual([{ projectId: project.id, itemId: item.id }]);
    expect(full.apiKeys[0].idempotentRequests[0].statusCode).toBe(201);

    // Deleting the project removes everything under it (ON DELETE CASCADE in the SQL).
    await prisma.project.delete({ where: { id: project.id } });
    const [{ left }] = await db.query<{ left: number }>(
      `SELECT (SELECT count(*) FROM items) + (SELECT count(*) FROM annotations) + (SELECT count(*) FROM tasks)
            + (SELECT count(*) FROM model_versions) + (SELECT count(*) FROM api_keys) AS left`,
    );
    expect(Number(left)).toBe(0);
  });
});
