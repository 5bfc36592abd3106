/** The collaboration metrics (one get-or-create per registry through the kit's registry). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface CollabMetrics {
  connections: Gauge;
  documents: Gauge;
  updates: Counter<'source'>;
  refused: Counter<'code'>;
  persistSeconds: Histogram;
  compactions: Counter<'result'>;
  awareness: Counter<'source'>;
}

export function createCollabMetrics(registry: Registry): CollabMetrics {
  return {
    connections: new Gauge({ name: 'collab_connections', help: 'Open document connections on this instance.', registers: [registry] }),
    documents: new Gauge({ name: 'collab_documents_loaded', help: 'Documents held in memory (and subscribed) on this instance.', registers: [registry] }),
    updates: new Counter({ name: 'collab_updates_total', help: 'Document updates applied, by source (client: stored here; peer: from another instance; refused: a read-only client).', labelNames: ['source'], registers: [registry] }),
    refused: new Counter({ name: 'collab_connections_refused_total', help: 'Connections closed at admission, by close code.', labelNames: ['code'], registers: [registry] }),
    persistSeconds: new Histogram({ name: 'collab_update_persist_seconds', help: 'Time from an update received to its batch committed in the log (what a peer waits before it is relayed).', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
    compactions: new Counter({ name: 'collab_compactions_total', help: 'Compactions of update logs into snapshots, by result.', labelNames: ['result'], registers: [registry] }),
    awareness: new Counter({ name: 'collab_awareness_updates_total', help: 'Awareness (presence, cursors) updates applied, by source.', labelNames: ['source'], registers: [registry] }),
  };
}
