/**
 * The cluster's PKI under .local/cluster/pki, made once with the openssl CLI:
 * one CA, the API server's serving cert (127.0.0.1 and the in-cluster
 * `kubernetes` names), the service-account signing key pair and one client
 * cert per identity (admin in system:masters; controller-manager, scheduler
 * and kwok under their own names so RBAC applies to them). Also writes the
 * kubeconfig of each identity with the certs embedded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../infra/proc.ts';
import { clusterSettings } from './settings.ts';

const { pkiDir, host, ports } = clusterSettings;
const doneFile = path.join(pkiDir, '.complete');
const DAYS = '3650';

export const pki = {
  caCert: path.join(pkiDir, 'ca.crt'),
  caKey: path.join(pkiDir, 'ca.key'),
  serverCert: path.join(pkiDir, 'apiserver.crt'),
  serverKey: path.join(pkiDir, 'apiserver.key'),
  serviceAccountKey: path.join(pkiDir, 'sa.key'),
  serviceAccountPub: path.join(pkiDir, 'sa.pub'),
};

/**
 * Client identities: file stem → subject. Group (O) system:masters bypasses
 * RBAC: admin, and kwok, which writes the status of every node and pod it fakes.
 * The controller-manager and scheduler get their built-in RBAC roles by name.
 */
const clients = {
  admin: '/O=system:masters/CN=bulwark-admin',
  'kube-controller-manager': '/CN=system:kube-controller-manager',
  'kube-scheduler': '/CN=system:kube-scheduler',
  kwok: '/O=system:masters/CN=kwok',
} as const;
export type ClientName = keyof typeof clients;

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A key and a cert signed by the cluster CA, as <stem>.key and <stem>.crt in the PKI folder. */
export function signed(stem: string, subject: string, extensions: string): void {
  const key = path.join(pkiDir, `${stem}.key`);
  const csr = path.join(pkiDir, `${stem}.csr`);
  const ext = path.join(pkiDir, `${stem}.ext`);
  fs.writeFileSync(ext, extensions);
  run('openssl', ['req', '-new', ...ecKey, '-keyout', key, '-out', csr, '-subj', subject]);
  run('openssl', ['x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAcreateserial', '-days', DAYS, '-out', path.join(pkiDir, `${stem}.crt`), '-extfile', ext]);
  fs.rmSync(csr);
  fs.rmSync(ext);
}

/**
 * Creates the PKI unless a complete one exists (a half-written one is redone).
 * True when it made a new one: processes still holding the old certs must restart.
 */
export function ensurePki(): boolean {
  if (fs.existsSync(doneFile)) return false;
  fs.rmSync(pkiDir, { recursive: true, force: true });
  fs.mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  run('openssl', ['req', '-x509', ...ecKey, '-keyout', pki.caKey, '-out', pki.caCert, '-days', DAYS, '-subj', '/CN=bulwark-local-cluster-ca', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'basicConstraints=critical,CA:TRUE']);
  const sans = ['IP:127.0.0.1', `IP:${clusterSettings.serviceApiIp}`, 'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local'];
  signed('apiserver', '/CN=kube-apiserver', `keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(',')}\n`);
  for (const [stem, subject] of Object.entries(clients)) signed(stem, subject, 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', pki.serviceAccountKey]);
  run('openssl', ['pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub]);
  fs.writeFileSync(doneFile, new Date().toISOString());
  return true;
}

/** The client cert the API server presents to kubelets (logs, exec, port-forward), made on first need. */
export const kubeletClient = { cert: path.join(pkiDir, 'apiserver-kubelet-client.crt'), key: path.join(pkiDir, 'apiserver-kubelet-client.key'), user: 'kube-apiserver-kubelet-client' };

/** Adds the API server's kubelet client cert to a PKI made before it existed; the real node grants its user kubelet API access. */
export function ensureKubeletClientCert(): void {
  if (fs.existsSync(kubeletClient.cert) && fs.existsSync(kubeletClient.key)) return;
  signed('apiserver-kubelet-client', `/CN=${kubeletClient.user}`, 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
}

const b64 = (file: string): string => fs.readFileSync(file).toString('base64');

/** A self-contained kubeconfig for one client identity (certs inline, so the file can be copied). */
export function kubeconfigFor(client: string): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: bulwark-local
    cluster:
      server: https://${host}:${ports.apiserver}
      certificate-authority-data: ${b64(pki.caCert)}
users:
  - name: ${client}
    user:
      client-certificate-data: ${b64(path.join(pkiDir, `${client}.crt`))}
      client-key-data: ${b64(path.join(pkiDir, `${client}.key`))}
contexts:
  - name: bulwark-local
    context: { cluster: bulwark-local, user: ${client} }
current-context: bulwark-local
`;
}

/** Writes the kubeconfig of each identity; the admin one to clusterSettings.kubeconfig. */
export function writeKubeconfigs(): Record<ClientName, string> {
  const files = {} as Record<ClientName, string>;
  for (const client of Object.keys(clients) as ClientName[]) {
    const file = client === 'admin' ? clusterSettings.kubeconfig : path.join(pkiDir, `${client}.kubeconfig`);
    fs.writeFileSync(file, kubeconfigFor(client), { mode: 0o600 });
    files[client] = file;
  }
  return files;
}
