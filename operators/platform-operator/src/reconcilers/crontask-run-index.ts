import { Informer, objectKey } from '../informer.ts';
import { type CronTaskRun, TASK_UID_LABEL } from './crontask-runs.ts';

/** Runs in an informer's cache, indexed by the uid of their task. */
export class RunIndex {
  readonly informer: Informer<CronTaskRun>;
  readonly #byTask = new Map<string, Set<string>>();

  constructor(informer: Informer<CronTaskRun>) {
    this.informer = informer;
    informer.on((type, run) => {
      const uid = run.spec?.taskUid ?? run.metadata?.labels?.[TASK_UID_LABEL];
      if (!uid) return;
      const key = objectKey(run);
      let keys = this.#byTask.get(uid);
      if (type === 'delete') {
        keys?.delete(key);
        if (keys?.size === 0) this.#byTask.delete(uid);
        return;
      }
      if (!keys) this.#byTask.set(uid, (keys = new Set()));
      keys.add(key);
    });
  }

  runsOf(taskUid: string): CronTaskRun[] {
    return [...(this.#byTask.get(taskUid) ?? [])].map((k) => this.informer.get(k)).filter((r): r is CronTaskRun => r !== undefined);
  }
}
