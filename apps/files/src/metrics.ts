/** Business metrics of the files service (the kit adds HTTP, pool and process metrics). */
import { Counter, type Registry } from 'prom-client';

export interface FilesMetrics {
  /** outcome: clean|rejected|failed (failed = an attempt that decided nothing: clamd or storage away). */
  scans: Counter<'outcome'>;
}

export function createFilesMetrics(registry: Registry): FilesMetrics {
  return {
    scans: new Counter({ name: 'files_scans_total', help: 'Scan attempts of quarantined files by outcome.', labelNames: ['outcome'], registers: [registry] }),
  };
}
