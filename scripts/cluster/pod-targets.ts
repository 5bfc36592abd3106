/**
 * Prometheus HTTP service discovery for the real node's Prometheus (scripts/cluster/rollouts.ts):
 * Debian's prometheus is built without kubernetes_sd, so this answers its http_sd requests with the
 * Running Pods of one namespace that have a container port named `http`, labelled as the chart's
 * ServiceMonitor would see them (namespace, pod, rollouts_pod_template_hash) for the canary analysis.
 *
 * `node scripts/cluster/pod-targets.ts <port> <kubectl> <kubeconfig> <namespace>`; listens on 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';

const [port, kubectl, kubeconfig, namespace] = process.argv.slice(2);
if (!port || !kubectl || !kubeconfig || !namespace) {
  console.error('usage: pod-targets.ts <port> <kubectl> <kubeconfig> <namespace>');
  process.exit(2);
}

interface Pod {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { containers: { ports?: { name?: string; containerPort: number }[] }[] };
  status: { phase?: string; podIP?: string };
}

/** One http_sd target group per Pod. */
function targetGroups(pods: Pod[]): { targets: string[]; labels: Record<string, string> }[] {
  return pods.flatMap((pod) => {
    const http = pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === 'http');
    if (pod.status.phase !== 'Running' || !pod.status.podIP || !http) return [];
    const hash = pod.metadata.labels?.['rollouts-pod-template-hash'];
    return [{ targets: [`${pod.status.podIP}:${http.containerPort}`], labels: { namespace: pod.metadata.namespace, pod: pod.metadata.name, ...(hash ? { rollouts_pod_template_hash: hash } : {}) } }];
  });
}

function listPods(): Promise<Pod[]> {
  return new Promise((resolve, reject) => {
    execFile(kubectl!, [`--kubeconfig=${kubeconfig}`, '--request-timeout=5s', 'get', 'pods', '-n', namespace!, '-o', 'json'], { maxBuffer: 64 * 2 ** 20 }, (err, stdout) => {
      if (err) reject(err);
      else resolve((JSON.parse(stdout) as { items: Pod[] }).items);
    });
  });
}

http
  .createServer((req, res) => {
    if (req.url === '/healthz') {
      res.end('ok');
      return;
    }
    listPods().then(
      (pods) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(targetGroups(pods)));
      },
      (err: unknown) => {
        // Prometheus keeps the last good list when discovery fails.
        res.statusCode = 503;
        res.end(String(err));
      },
    );
  })
  .listen(Number(port), '127.0.0.1');
