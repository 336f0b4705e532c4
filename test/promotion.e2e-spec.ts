import { startTestApp, type TestApp } from './support/app';
import { labeledRows, modelProject, scoringSettled, trainAndWait, unlabeledRows } from './support/models';

// Promotion without a holdout: with holdoutFraction 0 nothing measures a model, so each new model (trained on
// more labels) replaces the promoted one, and the scorer ranks the pool with it.
describe('promotion without a holdout', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'cpu', COLD_START_QUEUE_SIZE: '20' });
  });
  afterAll(() => t.close());

  interface ModelJson {
    id: string;
    number: number;
    promoted: boolean;
    holdoutRows: number | null;
    metrics: { holdoutRows: number };
  }

  const models = async (projectId: string) =>
    (await t.call('GET', `/v1/projects/${projectId}/models`)).body.data as ModelJson[];

  /** The model whose predictions the open queue carries (one model, or null when none). */
  async function queueModel(projectId: string): Promise<string | null> {
    const rows = await t.db.query<{ model_version_id: string }>(
      `SELECT DISTINCT p.model_version_id FROM tasks t JOIN predictions p ON p.item_id = t.item_id
       WHERE t.project_id = $1 AND t.status = 'open'`,
      [projectId],
    );
    return rows.length === 1 ? rows[0].model_version_id : null;
  }

  it('promotes every new model and scores the pool with it', async () => {
    const projectId = await modelProject(t, { holdoutFraction: 0, acquisitionSpec: { batchSize: 20 } });
    expect(
      (await t.call('POST', `/v1/projects/${projectId}/items`, [...labeledRows(20), ...unlabeledRows(60)]))
        .status,
    ).toBe(200);

    for (let round = 1; round <= 3; round++) {
      if (round > 1) {
        const more = labeledRows(20, `round-${round}`);
        expect((await t.call('POST', `/v1/projects/${projectId}/items`, more)).status).toBe(200);
      }
      await trainAndWait(t, projectId);
      const scoring = await scoringSettled(t, projectId);
      const [newest, ...older] = await models(projectId);
      // No holdout measured it: nothing can say it is worse, so the newest is the promoted one.
      expect(newest).toMatchObject({ number: round, promoted: true, holdoutRows: 0 });
      expect(newest.metrics.holdoutRows).toBe(0);
      for (const model of older) expect(model.promoted).toBe(false);
      expect(scoring?.returnvalue).toMatchObject({ modelVersionId: newest.id });
      expect(await queueModel(projectId)).toBe(newest.id);
    }
  }, 180_000);
});
