import { MAX_ANNOTATOR_SERIES, Metrics, OTHER_ANNOTATOR } from './metrics';

describe('Metrics.recordLabel', () => {
  it('counts labels by project and annotator, and lead times by project', async () => {
    const metrics = new Metrics();
    metrics.recordLabel('p1', 'ann', 1500);
    metrics.recordLabel('p1', 'ann', undefined);
    const labels = await metrics.labelsTotal.get();
    expect(labels.values).toEqual([{ labels: { project: 'p1', annotator: 'ann' }, value: 2 }]);
    const leadTimes = await metrics.labelLeadTime.get();
    expect(leadTimes.values.find((v) => v.metricName === 'label_lead_time_seconds_count')).toMatchObject({
      labels: { project: 'p1' },
      value: 1,
    });
  });

  it('keeps at most MAX_ANNOTATOR_SERIES annotator series; later annotators count as (other)', async () => {
    const metrics = new Metrics();
    for (let i = 0; i < MAX_ANNOTATOR_SERIES + 50; i++)
      metrics.recordLabel('p1', `annotator-${i}`, undefined);
    metrics.recordLabel('p1', 'annotator-0', undefined);
    const values = (await metrics.labelsTotal.get()).values;
    expect(values).toHaveLength(MAX_ANNOTATOR_SERIES + 1);
    expect(values.find((v) => v.labels.annotator === OTHER_ANNOTATOR)?.value).toBe(50);
    expect(values.find((v) => v.labels.annotator === 'annotator-0')?.value).toBe(2);
  });
});
