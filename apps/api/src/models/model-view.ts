import type { ModelVersionRecord } from '@labelloop/db';

/** A model version as the API shows it. */
export function modelView(m: ModelVersionRecord) {
  return {
    id: m.id,
    projectId: m.projectId,
    number: m.number,
    status: m.status,
    promoted: m.promoted,
    source: m.source,
    origin: m.origin,
    metrics: m.metrics,
    holdoutRows: holdoutRows(m),
    spec: m.spec,
    backend: m.backend,
    trainMs: m.trainMs,
    datasetVersion: m.datasetVersion,
    datasetVersionId: m.datasetVersionId,
    artifactKey: m.artifactKey,
    error: m.error,
    createdAt: m.createdAt,
    readyAt: m.readyAt,
  };
}

/**
 * How many labeled holdout items measured the model (`metrics.holdoutRows`): the size of the evidence its
 * promotion was decided on. Null while it has no metrics (training, failed, or imported without a labeled holdout).
 */
function holdoutRows(m: ModelVersionRecord): number | null {
  const rows = m.metrics?.holdoutRows;
  return typeof rows === 'number' ? rows : null;
}
