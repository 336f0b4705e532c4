import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

/**
 * A suspects refresh's ranking of every examined labeled item, most suspicious first, as parallel columns
 * (the compute worker's typed arrays as they arrive): row r gets rank r + 1.
 */
export interface SuspectRanking {
  /** The project's label set: the label columns hold indices into it. */
  labels: readonly string[];
  itemIds: readonly string[];
  givenLabels: Int32Array;
  suggestedLabels: Int32Array;
  /** p(given label); the score written is 1 - it. */
  selfConfidence: Float32Array;
  /** 1 = flagged by confident learning. */
  flagged: Uint8Array;
}

/** A ranked item as listed: with its item, whose current label is still the given one. */
export interface SuspectView {
  itemId: string;
  externalId: string;
  payload: unknown;
  rank: number;
  givenLabel: string;
  suggestedLabel: string;
  /** 1 - p(given label): higher means more likely mislabeled. */
  score: number;
  flagged: boolean;
  modelVersionId: string;
  createdAt: Date;
}

/**
 * Rows per INSERT: each statement converts this many rows to parameters on the event loop, so a ranking of
 * 200,000 items is written in short steps between which requests are served.
 */
export const SUSPECT_INSERT_BATCH = 5_000;

// One batch travels as parallel arrays; rank = offset + position, labels are looked up in the label set.
const INSERT_SQL = `
INSERT INTO suspects (project_id, item_id, model_version_id, rank, given_label, suggested_label, score, flagged)
SELECT $1, u.item_id, $2, $3 + u.position, ($4::text[])[u.given + 1], ($4::text[])[u.suggested + 1],
       1 - u.confidence, u.flagged
FROM unnest($5::uuid[], $6::int4[], $7::int4[], $8::float8[], $9::bool[])
     WITH ORDINALITY AS u(item_id, given, suggested, confidence, flagged, position)`;

@Injectable()
export class SuspectsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Replaces the project's suspects with this ranking in one transaction (readers see the old or the new
   * ranking, never a mix), inserted SUSPECT_INSERT_BATCH rows per statement.
   */
  async replace(projectId: string, modelVersionId: string, ranking: SuspectRanking): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM suspects WHERE project_id = $1', [projectId]);
      for (let start = 0; start < ranking.itemIds.length; start += SUSPECT_INSERT_BATCH) {
        const end = Math.min(start + SUSPECT_INSERT_BATCH, ranking.itemIds.length);
        await client.query(INSERT_SQL, [
          projectId,
          modelVersionId,
          start,
          ranking.labels,
          ranking.itemIds.slice(start, end),
          Array.from(ranking.givenLabels.subarray(start, end)),
          Array.from(ranking.suggestedLabels.subarray(start, end)),
          Array.from(ranking.selfConfidence.subarray(start, end)),
          Array.from(ranking.flagged.subarray(start, end), Boolean),
        ]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * The project's ranking after rank `cursor`, most suspicious first; only flagged (or only unflagged) items
   * when `flagged` is given. Items whose current label is no longer the given one (relabeled since) are left out.
   */
  async list(
    projectId: string,
    page: { limit: number; cursor?: number; flagged?: boolean },
  ): Promise<SuspectView[]> {
    // A literal predicate on `flagged` (not a parameter) lets the flagged-only list use its partial index.
    const flaggedFilter = page.flagged === undefined ? '' : `AND ${page.flagged ? '' : 'NOT '}s.flagged`;
    const { rows } = await this.pool.query(
      `SELECT s.item_id, s.rank, s.given_label, s.suggested_label, s.score, s.flagged, s.model_version_id,
              s.created_at, i.external_id, i.payload
       FROM suspects s JOIN items i ON i.id = s.item_id
       WHERE s.project_id = $1 AND s.rank > $2 ${flaggedFilter} AND i.label = s.given_label
       ORDER BY s.rank LIMIT $3`,
      [projectId, page.cursor ?? 0, page.limit],
    );
    return rows.map((row) => ({
      itemId: row.item_id,
      externalId: row.external_id,
      payload: row.payload,
      rank: row.rank,
      givenLabel: row.given_label,
      suggestedLabel: row.suggested_label,
      score: row.score,
      flagged: row.flagged,
      modelVersionId: row.model_version_id,
      createdAt: row.created_at,
    }));
  }
}
