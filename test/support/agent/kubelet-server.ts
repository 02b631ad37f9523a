import * as https from 'node:https';
import type { Readable, Writable } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** A process started by `exec`. */
export interface ExecProcess {
  stdin?: Writable;
  stdout: Readable;
  stderr?: Readable;
  exited: Promise<number>;
}

/** What the kubelet API needs from the pod runtime. Errors thrown here become HTTP 404/500 answers. */
export interface KubeletBackend {
  logs(ns: string, pod: string, container: string, opts: LogOptions): Readable;
  exec(
    ns: string,
    pod: string,
    container: string,
    command: string[],
    opts: { stdin: boolean; tty: boolean },
  ): ExecProcess;
}

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  tailLines?: number;
  limitBytes?: number;
}

/** Raised by a backend when the pod or container is not on this node: answered as 404. */
export class NotFoundError extends Error {}

// The channel protocols kubectl and client-node offer for exec, newest first. v5 adds the close signal (255).
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const STDIN = 0,
  STDOUT = 1,
  STDERR = 2,
  ERROR = 3,
  CLOSE = 255;

/**
 * The kubelet's streaming API as the apiserver proxies it: `GET /containerLogs/{ns}/{pod}/{container}` (with
 * follow) and `/exec/{ns}/{pod}/{container}` over WebSocket (v5/v4.channel.k8s.io). The apiserver runs with
 * TranslateStreamCloseWebsocketRequests=false, so it forwards kubectl's WebSocket here unchanged.
 */
export function createKubeletServer(
  tls: { cert: Buffer; key: Buffer; ca?: Buffer },
  backend: KubeletBackend,
): https.Server {
  const server = https.createServer({
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    requestCert: !!tls.ca,
    rejectUnauthorized: !!tls.ca,
  });
  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'healthz') return void res.end('ok');
    if (parts[0] !== 'containerLogs' || parts.length !== 4)
      return void res.writeHead(404).end(`not served: ${url.pathname}`);
    const [, ns, pod, container] = parts as [string, string, string, string];
    let stream: Readable;
    try {
      stream = backend.logs(ns, pod, container, {
        follow: url.searchParams.get('follow') === 'true',
        previous: url.searchParams.get('previous') === 'true',
        tailLines: numberParam(url, 'tailLines'),
        limitBytes: numberParam(url, 'limitBytes'),
      });
    } catch (err) {
      return void res.writeHead(err instanceof NotFoundError ? 404 : 500).end((err as Error).message);
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    stream.pipe(res);
    res.on('close', () => stream.destroy());
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'exec' || parts.length !== 4) return void socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    wss.handleUpgrade(req, socket, head, (ws) =>
      serveExec(ws, url, parts as [string, string, string, string], backend),
    );
  });
  return server;
}

function numberParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  return v === null ? undefined : Number(v);
}

function flag(url: URL, ...names: string[]): boolean {
  return names.some((n) => ['1', 'true'].includes(url.searchParams.get(n) ?? ''));
}

function serveExec(ws: WebSocket, url: URL, parts: [string, string, string, string], backend: KubeletBackend): void {
  const [, ns, pod, container] = parts;
  const command = url.searchParams.getAll('command');
  const tty = flag(url, 'tty');
  const send = (channel: number, data: Buffer | string) => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
  };
  let proc: ExecProcess;
  try {
    proc = backend.exec(ns, pod, container, command, { stdin: flag(url, 'input', 'stdin'), tty });
  } catch (err) {
    send(
      ERROR,
      JSON.stringify({ metadata: {}, status: 'Failure', message: (err as Error).message, reason: 'InternalError' }),
    );
    return void ws.close(1000);
  }
  ws.on('message', (data: Buffer) => {
    if (data.length === 0) return;
    if (data[0] === STDIN) proc.stdin?.write(data.subarray(1));
    else if (data[0] === CLOSE && data[1] === STDIN) proc.stdin?.end();
  });
  ws.on('close', () => proc.stdin?.destroy());
  proc.stdout.on('data', (d: Buffer) => send(STDOUT, d));
  proc.stderr?.on('data', (d: Buffer) => send(tty ? STDOUT : STDERR, d));
  const drained = Promise.all(
    [proc.stdout, proc.stderr].filter(Boolean).map((s) => new Promise((r) => (s as Readable).on('close', r))),
  );
  void Promise.all([proc.exited, drained]).then(([code]) => {
    send(ERROR, JSON.stringify(execStatus(code, command)));
    ws.close(1000);
  });
}

/** The Status object the error channel carries, in the form kubectl turns into its exit code. */
export function execStatus(code: number, command: string[]): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}
