import * as https from 'node:https';
import * as fs from 'node:fs';

/** TLS identity and address of an apiserver, as the test control plane hands them out. */
export interface RestConfig {
  server: string;
  ca: Buffer | string;
  cert: Buffer | string;
  key: Buffer | string;
}

/** A Kubernetes API error with its HTTP status and the apiserver's Status message. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.reason = reason;
  }
}

/** One event of a watch stream. */
export interface WatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** The fields every object has; the rest is read as needed. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export type PatchType = 'merge' | 'strategic' | 'json';
const PATCH_CONTENT: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

/**
 * A small JSON REST client for the test environment's own tools (node agent, fixtures). The product itself
 * talks to Kubernetes through @kubernetes/client-node in src/k8s; this stays independent so that the tests
 * do not judge the product with its own client.
 */
export class KubeRest {
  readonly config: RestConfig;
  private readonly agent: https.Agent;

  constructor(config: RestConfig) {
    this.config = config;
    this.agent = new https.Agent({
      ca: config.ca,
      cert: config.cert,
      key: config.key,
      keepAlive: true,
      maxSockets: 32,
    });
  }

  /** Builds a client from PEM file paths. */
  static fromFiles(server: string, caFile: string, certFile: string, keyFile: string): KubeRest {
    const read = (f: string) => fs.readFileSync(f);
    return new KubeRest({ server, ca: read(caFile), cert: read(certFile), key: read(keyFile) });
  }

  /** Sends one request and parses the JSON answer; a 4xx/5xx becomes an ApiError. */
  async request<T = KubeObject>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const res = await this.raw(method, path, body, contentType);
    const text = await readAll(res);
    if ((res.statusCode ?? 0) >= 400) throw toApiError(res.statusCode ?? 0, method, path, text);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  get<T = KubeObject>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** GET that answers undefined for 404. */
  async getOrNull<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  create<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  patch<T = KubeObject>(path: string, body: unknown, type: PatchType = 'merge'): Promise<T> {
    return this.request<T>('PATCH', path, body, PATCH_CONTENT[type]);
  }

  /** DELETE that treats 404 as done. */
  async delete(path: string, body?: unknown): Promise<void> {
    try {
      await this.request('DELETE', path, body);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  }

  /** The raw response, for streams (watch, logs). */
  raw(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<import('node:http').IncomingMessage> {
    const url = new URL(path, this.config.server);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            accept: 'application/json',
            ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}),
          },
        },
        resolve,
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}

function readAll(res: import('node:http').IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (text += d));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

function toApiError(status: number, method: string, path: string, text: string): ApiError {
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string };
    return new ApiError(status, s.reason ?? '', `${method} ${path}: ${status} ${s.message ?? text}`);
  } catch {
    return new ApiError(status, '', `${method} ${path}: ${status} ${text.slice(0, 300)}`);
  }
}
