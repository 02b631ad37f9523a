import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One certificate the control plane needs: its subject, SANs and usage. */
interface CertSpec {
  name: string;
  subject: string;
  san?: string;
  usage: 'server' | 'client' | 'both';
}

/** Paths of everything certs.ts makes. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  saKey: string;
  saPub: string;
  cert(name: string): { cert: string; key: string };
}

const CERTS: CertSpec[] = [
  {
    name: 'apiserver',
    subject: '/CN=kube-apiserver',
    san: 'IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
    usage: 'server',
  },
  { name: 'admin', subject: '/O=system:masters/CN=pgupgrade-admin', usage: 'client' },
  { name: 'controller-manager', subject: '/CN=system:kube-controller-manager', usage: 'client' },
  { name: 'scheduler', subject: '/CN=system:kube-scheduler', usage: 'client' },
  { name: 'apiserver-kubelet-client', subject: '/O=system:masters/CN=kube-apiserver-kubelet-client', usage: 'client' },
  {
    name: 'kubelet',
    subject: '/O=system:nodes/CN=system:node:pgupgrade-node',
    san: 'IP:127.0.0.1,DNS:localhost',
    usage: 'both',
  },
];

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * Makes a self-signed CA, the serving and client certificates of the control plane and the node agent, and the
 * service-account key pair, with openssl. Short ECDSA keys keep it under a second.
 */
export async function makePki(dir: string): Promise<Pki> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f: string) => path.join(dir, f);
  await run('openssl', [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '3650',
    '-subj',
    '/CN=pgupgrade-test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await Promise.all(
    CERTS.map((c) => {
      const eku = c.usage === 'server' ? 'serverAuth' : c.usage === 'client' ? 'clientAuth' : 'serverAuth,clientAuth';
      return run('openssl', [
        'req',
        '-x509',
        ...EC,
        '-keyout',
        p(`${c.name}.key`),
        '-out',
        p(`${c.name}.crt`),
        '-days',
        '3650',
        '-subj',
        c.subject,
        '-CA',
        p('ca.crt'),
        '-CAkey',
        p('ca.key'),
        '-addext',
        'basicConstraints=critical,CA:FALSE',
        '-addext',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        '-addext',
        `extendedKeyUsage=${eku}`,
        ...(c.san ? ['-addext', `subjectAltName=${c.san}`] : []),
      ]);
    }),
  );
  await run('openssl', ['genrsa', '-out', p('sa.key'), '2048']);
  await run('openssl', ['rsa', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
    cert: (name) => ({ cert: p(`${name}.crt`), key: p(`${name}.key`) }),
  };
}

/** A kubeconfig for one client identity, with the certificates embedded so that the file stands alone. */
export function kubeconfigFor(server: string, pki: Pki, identity: string, namespace?: string): string {
  const b64 = (f: string) => fs.readFileSync(f).toString('base64');
  const { cert, key } = pki.cert(identity);
  return [
    'apiVersion: v1',
    'kind: Config',
    'current-context: pgupgrade-test',
    'clusters:',
    '- name: pgupgrade-test',
    `  cluster: {server: "${server}", certificate-authority-data: ${b64(pki.caCert)}}`,
    'users:',
    `- name: ${identity}`,
    `  user: {client-certificate-data: ${b64(cert)}, client-key-data: ${b64(key)}}`,
    'contexts:',
    `- name: pgupgrade-test`,
    `  context: {cluster: pgupgrade-test, user: ${identity}${namespace ? `, namespace: ${namespace}` : ''}}`,
    '',
  ].join('\n');
}
