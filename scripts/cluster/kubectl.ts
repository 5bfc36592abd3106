/**
 * kubectl against the local cluster as admin, for the scripts that set the
 * cluster up (fake nodes, CRDs). Tests use @kubernetes/client-node instead.
 */
import { run } from '../infra/proc.ts';
import { binPath } from './build.ts';
import { clusterSettings } from './settings.ts';

export function kubectl(args: string[]): string {
  return run(binPath('kubectl'), [`--kubeconfig=${clusterSettings.kubeconfig}`, ...args]);
}
