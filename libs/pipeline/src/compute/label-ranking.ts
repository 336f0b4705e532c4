import type { LabelIssue } from '@labelloop/ml';
import type { LabelRanking } from './messages';

/**
 * The ranked issues as a LabelRanking, each row named by its position in the request (`requestRows[i]` is the
 * request input of featurized row i: unreadable inputs were left out before the k-fold).
 */
export function packRanking(ranked: readonly LabelIssue[], requestRows: readonly number[]): LabelRanking {
  const n = ranked.length;
  const ranking: LabelRanking = {
    rows: new Int32Array(n),
    givenLabels: new Int32Array(n),
    suggestedLabels: new Int32Array(n),
    selfConfidence: new Float32Array(n),
    flagged: new Uint8Array(n),
  };
  ranked.forEach((issue, r) => {
    ranking.rows[r] = requestRows[issue.index];
    ranking.givenLabels[r] = issue.givenLabel;
    ranking.suggestedLabels[r] = issue.suggestedLabel;
    ranking.selfConfidence[r] = issue.selfConfidence;
    ranking.flagged[r] = issue.flagged ? 1 : 0;
  });
  return ranking;
}

/** The buffers a worker thread hands over with the ranking (each array owns its whole buffer: packRanking). */
export function rankingBuffers(ranking: LabelRanking): ArrayBuffer[] {
  return [
    ranking.rows,
    ranking.givenLabels,
    ranking.suggestedLabels,
    ranking.selfConfidence,
    ranking.flagged,
  ].map((array) => array.buffer as ArrayBuffer);
}
