/** Business metrics of the flags service (the kit adds HTTP, pool and process metrics). */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface FlagsMetrics {
  /** Admin and scheduled writes by entity (flag|segment|experiment) and action. */
  changes: Counter<'entity' | 'action'>;
  /** OFREP evaluations by reason or error code. */
  evaluations: Counter<'outcome'>;
  /** Snapshot streams open on this replica. */
  streams: Gauge;
  /** Snapshots pushed to streams. */
  pushes: Counter;
  /** Scheduled changes by outcome (applied|failed). */
  scheduled: Counter<'outcome'>;
  /** Exposures filed (new) or already known (repeat). */
  exposures: Counter<'outcome'>;
}

export function createFlagsMetrics(registry: Registry): FlagsMetrics {
  return {
    changes: new Counter({ name: 'flags_changes_total', help: 'Changes of flags, segments and experiments by entity and action.', labelNames: ['entity', 'action'], registers: [registry] }),
    evaluations: new Counter({ name: 'flags_ofrep_evaluations_total', help: 'OFREP evaluations by reason or error code.', labelNames: ['outcome'], registers: [registry] }),
    streams: new Gauge({ name: 'flags_snapshot_streams', help: 'Snapshot streams (SSE) open on this replica.', registers: [registry] }),
    pushes: new Counter({ name: 'flags_snapshot_pushes_total', help: 'Snapshots pushed to open streams.', registers: [registry] }),
    scheduled: new Counter({ name: 'flags_scheduled_changes_total', help: 'Scheduled changes applied or failed.', labelNames: ['outcome'], registers: [registry] }),
    exposures: new Counter({ name: 'flags_exposures_total', help: 'Experiment exposures received: new (filed) or repeat.', labelNames: ['outcome'], registers: [registry] }),
  };
}
