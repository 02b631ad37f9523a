import WebSocket from 'ws';
import type { KubeRest } from './rest.ts';

// The channels of the exec protocol (v5.channel.k8s.io adds the close signal, 255, which ends stdin).
const STDIN = 0,
  STDOUT = 1,
  STDERR = 2,
  ERROR = 3,
  CLOSE = 255;

/** What a command in a pod said, and its exit code. */
export interface PodExec {
  code: number;
  stdout: string;
  stderr: string;
}

interface Pod {
  metadata: { annotations?: Record<string, string> };
  spec: { containers: Array<{ name: string }> };
}

/** The container kubectl would pick: the default-container annotation, else the first. */
export async function defaultContainer(rest: KubeRest, ns: string, pod: string): Promise<string> {
  const p = await rest.get<Pod>(`/api/v1/namespaces/${ns}/pods/${pod}`);
  return p.metadata.annotations?.['kubectl.kubernetes.io/default-container'] ?? p.spec.containers[0]?.name ?? '';
}

/** The exit code in the error channel's Status (kubectl's reading of it). */
function exitCode(status: string): number {
  if (!status) return 0;
  const s = JSON.parse(status) as {
    status?: string;
    message?: string;
    details?: { causes?: Array<{ reason?: string; message?: string }> };
  };
  if (s.status === 'Success') return 0;
  const cause = s.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message) return Number(cause.message);
  throw new Error(`exec failed: ${s.message ?? status}`);
}

/**
 * `kubectl exec -i` through the apiserver over WebSocket, inside the test process: the same request as kubectl's,
 * without a kubectl process (about 80 ms of CPU each; the suite ran thousands of them). Of the test environment's
 * own tools, like KubeRest: the product's client is not used to judge the product.
 */
export async function execInPod(
  rest: KubeRest,
  ns: string,
  pod: string,
  command: string[],
  stdin?: string,
  container?: string,
): Promise<PodExec> {
  const c = container ?? (await defaultContainer(rest, ns, pod));
  const q = new URLSearchParams([
    ...command.map((a) => ['command', a]),
    ['container', c],
    ['stdout', 'true'],
    ['stderr', 'true'],
    ['stdin', String(stdin !== undefined)],
  ]);
  const url = `${rest.config.server.replace(/^http/, 'ws')}/api/v1/namespaces/${ns}/pods/${pod}/exec?${q}`;
  const { ca, cert, key } = rest.config;
  const ws = new WebSocket(url, ['v5.channel.k8s.io'], { ca, cert, key });
  const out: Buffer[] = [],
    err: Buffer[] = [];
  let status = '';
  return new Promise<PodExec>((resolve, reject) => {
    ws.on('open', () => {
      if (stdin === undefined) return;
      ws.send(Buffer.concat([Buffer.from([STDIN]), Buffer.from(stdin)]));
      ws.send(Buffer.from([CLOSE, STDIN]));
    });
    ws.on('message', (data: Buffer) => {
      const body = data.subarray(1);
      if (data[0] === STDOUT) out.push(body);
      else if (data[0] === STDERR) err.push(body);
      else if (data[0] === ERROR) status += body.toString('utf8');
    });
    ws.on('unexpected-response', (_req, res) =>
      reject(new Error(`exec into ${ns}/${pod} refused: HTTP ${res.statusCode}`)),
    );
    ws.on('error', reject);
    ws.on('close', () => {
      try {
        resolve({
          code: exitCode(status),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
