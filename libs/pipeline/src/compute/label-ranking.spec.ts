import type { LabelIssue } from '@labelloop/ml';
import { packRanking, rankingBuffers } from './label-ranking';

const issue = (index: number, selfConfidence: number, flagged: boolean): LabelIssue => ({
  index,
  givenLabel: index % 3,
  suggestedLabel: (index + 1) % 3,
  selfConfidence,
  normalizedMargin: 0,
  flagged,
});

describe('packRanking', () => {
  it('keeps the ranking order and names each row by its request position', () => {
    // Featurized rows 0-2 are request inputs 0, 2 and 3 (input 1 was unreadable).
    const ranking = packRanking([issue(2, 0.1, true), issue(0, 0.4, false), issue(1, 0.9, false)], [0, 2, 3]);
    expect(Array.from(ranking.rows)).toEqual([3, 0, 2]);
    expect(Array.from(ranking.givenLabels)).toEqual([2, 0, 1]);
    expect(Array.from(ranking.suggestedLabels)).toEqual([0, 1, 2]);
    expect(Array.from(ranking.selfConfidence)).toEqual([0.1, 0.4, 0.9].map(Math.fround));
    expect(Array.from(ranking.flagged)).toEqual([1, 0, 0]);
  });

  it('gives every column a buffer of its own, so all five can be transferred', () => {
    const ranking = packRanking([issue(0, 0.2, true), issue(1, 0.3, false)], [0, 1]);
    const buffers = rankingBuffers(ranking);
    expect(new Set(buffers).size).toBe(5);
    expect(buffers.map((b) => b.byteLength)).toEqual([8, 8, 8, 8, 2]);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(ranking, buffers);
    port1.close();
    port2.close();
    // Transferred: the sender's arrays are detached, nothing was copied.
    expect(ranking.rows.length).toBe(0);
  });
});
