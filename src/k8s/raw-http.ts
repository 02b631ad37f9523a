import * as https from 'node:https';
import * as http from 'node:http';
import * as fs from 'node:fs';
import { execFile } from 'node:child_process';
import type { ResolvedContext } from './kubeconfig.ts';

type Fields = Record<string, unknown>;

/**
 * A GET against the apiserver without @kubernetes/client-node, so that `version` stays as light as `--help`.
 * It understands the credential kinds kubectl users have: client certificates, tokens, basic auth and exec
 * plugins. Never logs a credential. `accept`: e.g. PARTIAL_METADATA, for an object's metadata only. An HTTP
 * error rejects with its status as `code`.
 */
export async function getJson(
  ctx: ResolvedContext,
  apiPath: string,
  timeoutMs: number,
  accept = 'application/json',
): Promise<unknown> {
  const url = new URL(apiPath, ctx.cluster.server.endsWith('/') ? ctx.cluster.server : `${ctx.cluster.server}/`);
  const opts: https.RequestOptions = { method: 'GET', timeout: timeoutMs, headers: { accept } };
  applyCluster(ctx.cluster, opts);
  await applyUser(ctx.user, opts, timeoutMs);
  const lib = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 400)
          reject(Object.assign(new Error(`GET ${apiPath}: HTTP ${res.statusCode}`), { code: res.statusCode }));
        else resolve(JSON.parse(body));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.host} within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

/** The Accept header that makes the apiserver answer with an object's metadata only (no Secret data). */
export const PARTIAL_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

function dataOrFile(obj: Fields, key: string): Buffer | undefined {
  const data = obj[`${key}-data`];
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
  const file = obj[key];
  if (typeof file === 'string' && file !== '') return fs.readFileSync(file);
  return undefined;
}

function applyCluster(cluster: Fields, opts: https.RequestOptions): void {
  opts.ca = dataOrFile(cluster, 'certificate-authority');
  if (cluster['insecure-skip-tls-verify'] === true) opts.rejectUnauthorized = false;
  if (typeof cluster['tls-server-name'] === 'string') opts.servername = cluster['tls-server-name'];
}

async function applyUser(user: Fields, opts: https.RequestOptions, timeoutMs: number): Promise<void> {
  opts.cert = dataOrFile(user, 'client-certificate');
  opts.key = dataOrFile(user, 'client-key');
  let token = typeof user.token === 'string' ? user.token : undefined;
  if (!token && typeof user.tokenFile === 'string') token = fs.readFileSync(user.tokenFile, 'utf8').trim();
  if (user.exec && typeof user.exec === 'object') {
    const cred = await runExecPlugin(user.exec as Fields, timeoutMs);
    token = cred.token ?? token;
    if (cred.clientCertificateData) opts.cert = cred.clientCertificateData;
    if (cred.clientKeyData) opts.key = cred.clientKeyData;
  }
  const headers = opts.headers as Record<string, string>;
  if (token) headers.authorization = `Bearer ${token}`;
  else if (typeof user.username === 'string' && typeof user.password === 'string') {
    opts.auth = `${user.username}:${user.password}`;
  }
}

interface ExecStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
}

/** Runs a client.authentication.k8s.io exec credential plugin, as kubectl does. */
function runExecPlugin(exec: Fields, timeoutMs: number): Promise<ExecStatus> {
  const apiVersion = String(exec.apiVersion ?? 'client.authentication.k8s.io/v1');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const e of (exec.env as Array<{ name: string; value: string }> | null) ?? []) env[e.name] = e.value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } });
  const args = ((exec.args as string[] | null) ?? []).map(String);
  return new Promise((resolve, reject) => {
    execFile(String(exec.command), args, { env, timeout: timeoutMs }, (err, stdout) => {
      if (err) return reject(new Error(`exec credential plugin ${String(exec.command)} failed: ${err.message}`));
      try {
        resolve((JSON.parse(stdout) as { status?: ExecStatus }).status ?? {});
      } catch {
        reject(new Error(`exec credential plugin ${String(exec.command)} printed no ExecCredential JSON`));
      }
    });
  });
}
