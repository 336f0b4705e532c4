import { JobQueues } from '@labelloop/queue';
import { createKey, createProject, startTestApp, type TestApp } from './support/app';

// After a promotion the suspects job (same process, role all) ranks the whole labeled pool by how likely each
// label is wrong; planted flips in two well-separated clusters come out on top with the other cluster's label,
// and an item relabeled since drops out of the list.
describe('suspects', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'cpu', COLD_START_QUEUE_SIZE: '20' });
  });
  afterAll(() => t.close());

  /** Deterministic jitter in [-0.5, 0.5). */
  const jitter = (i: number) => ((i * 7919) % 1000) / 1000 - 0.5;
  /** Every tenth item carries the other cluster's label (4 of each cluster). */
  const flipped = new Set(Array.from({ length: 8 }, (_, k) => `lab-${k * 10 + (k % 2)}`));
  const items = Array.from({ length: 80 }, (_, i) => {
    const truth = i % 2 === 0 ? 'neg' : 'pos';
    const externalId = `lab-${i}`;
    const x = (truth === 'neg' ? -2 : 2) + jitter(i);
    const label = flipped.has(externalId) ? (truth === 'neg' ? 'pos' : 'neg') : truth;
    return { externalId, features: [x, jitter(i + 500)], label, truth };
  });

  interface Ranked {
    itemId: string;
    externalId: string;
    rank: number;
    score: number;
    flagged: boolean;
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('ranks every examined item (paged by rank, flagged as a filter), planted flips first with the right suggestion', async () => {
    const projectId = await createProject(t, {
      inputKind: 'tabular',
      labels: ['neg', 'pos'],
      holdoutFraction: 0,
      seed: 21,
      modelSpec: { architecture: 'linear', epochs: 20, learningRate: 0.05 },
    });
    const imported = await t.call(
      'POST',
      `/v1/projects/${projectId}/items`,
      items.map(({ externalId, features, label }) => ({ externalId, features, label })),
    );
    expect(imported.body).toMatchObject({ created: 80 });
    expect((await t.call('POST', `/v1/projects/${projectId}/train`)).status).toBe(202);

    const job = await waitFor('suspects', async () => {
      const jobs = await t.app.get(JobQueues).suspects.getJobs(['completed', 'failed']);
      return jobs.find((j) => j.data.projectId === projectId);
    });
    expect(job.failedReason).toBeUndefined();
    expect(job.returnvalue).toMatchObject({ examined: 80, folds: 5 });
    expect(job.progress).toEqual({ fold: 5, folds: 5 });

    const viewer = await createKey(t, 'viewer', projectId);

    // The whole ranking: every examined item once, by score, page after page through the cursor.
    const readAll = async (query: string) => {
      const rows: Ranked[] = [];
      let cursor: number | null = null;
      do {
        const page = await t.call(
          'GET',
          `/v1/projects/${projectId}/suspects?limit=7${query}${cursor === null ? '' : `&cursor=${cursor}`}`,
          undefined,
          viewer,
        );
        expect(page.status).toBe(200);
        rows.push(...page.body.data);
        cursor = page.body.nextCursor;
      } while (cursor !== null);
      return rows;
    };
    const ranking = await readAll('');
    expect(ranking).toHaveLength(job.returnvalue.examined);
    expect(new Set(ranking.map((s) => s.externalId))).toEqual(new Set(items.map((i) => i.externalId)));
    expect(ranking.map((s) => s.rank)).toEqual(ranking.map((_, i) => i + 1));
    const allScores = ranking.map((s) => s.score);
    expect(allScores).toEqual([...allScores].sort((a, b) => b - a));
    // Flagged is a threshold on that ranking: its own list is the flagged part of it, in the same order.
    const flaggedOnly = await readAll('&flagged=true');
    expect(flaggedOnly.length).toBe(job.returnvalue.flagged);
    expect(flaggedOnly.length).toBeGreaterThan(0);
    expect(flaggedOnly).toEqual(ranking.filter((s) => s.flagged));
    expect(await readAll('&flagged=false')).toEqual(ranking.filter((s) => !s.flagged));
    const badCursor = await t.call('GET', `/v1/projects/${projectId}/suspects?cursor=abc`, undefined, viewer);
    expect(badCursor.status).toBe(400);

    const listed = await t.call('GET', `/v1/projects/${projectId}/suspects?limit=8`, undefined, viewer);
    expect(listed.status).toBe(200);
    const top = listed.body.data as {
      itemId: string;
      externalId: string;
      givenLabel: string;
      suggestedLabel: string;
      score: number;
      payload: { features: number[] };
    }[];
    expect(top.map((s) => s.externalId)).toHaveLength(8);
    const scores = top.map((s) => s.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const hits = top.filter((s) => flipped.has(s.externalId));
    expect(hits.length).toBeGreaterThanOrEqual(6);
    const byId = new Map(items.map((item) => [item.externalId, item]));
    for (const s of hits) {
      expect(s.givenLabel).toBe(byId.get(s.externalId)!.label);
      expect(s.suggestedLabel).toBe(byId.get(s.externalId)!.truth);
      expect(s.payload.features).toEqual(byId.get(s.externalId)!.features);
    }

    // Relabeling a suspect (to the suggestion) takes it off the list.
    const fixed = hits[0];
    const relabel = await t.call('POST', `/v1/items/${fixed.itemId}/annotations`, {
      label: fixed.suggestedLabel,
    });
    expect(relabel.status).toBe(201);
    const after = await t.call('GET', `/v1/projects/${projectId}/suspects?limit=100`, undefined, viewer);
    const ids = (after.body.data as { itemId: string }[]).map((s) => s.itemId);
    expect(ids).not.toContain(fixed.itemId);
    expect(ids).toContain(hits[1].itemId);

    // Pages follow one another by cursor without overlap.
    const first = await t.call('GET', `/v1/projects/${projectId}/suspects?limit=2`, undefined, viewer);
    const second = await t.call(
      'GET',
      `/v1/projects/${projectId}/suspects?limit=2&cursor=${first.body.nextCursor}`,
      undefined,
      viewer,
    );
    expect([...first.body.data, ...second.body.data].map((s: { itemId: string }) => s.itemId)).toEqual(
      ids.slice(0, 4),
    );
  }, 120_000);
});
