/**
 * Use case: read a series, from the hourly rollups when they answer it
 * exactly (canUseRollups), else from the raw events. The answer names which.
 */
import type { Queryable } from '@bulwark/db';
import { querySeriesRaw, querySeriesRollup, type SeriesPoint } from '../store/query-store.ts';
import { canUseRollups, type SeriesQuery } from './series.ts';

export async function readSeries(db: Queryable, q: SeriesQuery): Promise<{ source: 'rollup' | 'raw'; points: SeriesPoint[] }> {
  if (canUseRollups(q)) return { source: 'rollup', points: await querySeriesRollup(db, q) };
  return { source: 'raw', points: await querySeriesRaw(db, q) };
}
