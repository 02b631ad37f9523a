import { PassThrough, Readable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import type { ExecResult } from './cluster.ts';
import { execSilenceMs } from './silence.ts';

/**
 * An exec may run for as long as it keeps talking: long work (a fingerprint of a large database, vacuumdb) has no
 * total limit, but one that says nothing for this long is taken as hung. Scripts whose steps can be silent for
 * longer print a heartbeat line (src/postgres/heartbeat.ts), which is dropped from their stderr here.
 */
const silenceMs = execSilenceMs;
const HEARTBEAT_LINE = /^pgupgrade: still working\n/gm;
const FIRST_LINE_MS = 30_000;

/** Exec over WebSocket; stdin is sent on the stdin channel and closed, so a password never reaches the URL. */
export async function execIn(
  kc: k8s.KubeConfig,
  ns: string,
  pod: string,
  container: string,
  command: string[],
  stdin?: string,
  onStdout?: (text: string) => void,
): Promise<ExecResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  let socket: { close(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let fail: (e: Error) => void = () => undefined;
  // Until the stream is open the exec is being set up (apiserver, kubelet, the container's runtime), which on a
  // loaded node takes seconds whatever the limit: that wait gets at least FIRST_LINE_MS.
  const quiet = (ms = silenceMs()) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      socket?.close();
      fail(new Error(`exec in ${ns}/${pod} (container ${container}) said nothing for ${ms / 1000} s; taken as hung`));
    }, ms);
  };
  out.on('data', (d: Buffer) => {
    quiet();
    chunks.out.push(d);
    onStdout?.(d.toString('utf8'));
  });
  err.on('data', (d: Buffer) => {
    quiet();
    chunks.err.push(d);
  });
  const input = stdin === undefined ? null : Readable.from([Buffer.from(stdin)]);
  const status = await new Promise<k8s.V1Status>((resolve, reject) => {
    fail = reject;
    quiet(Math.max(silenceMs(), FIRST_LINE_MS));
    new k8s.Exec(kc).exec(ns, pod, container, command, out, err, input, false, resolve).then(
      (ws) => {
        socket = ws;
        // Connected: the process runs now, and from here only its own silence counts.
        if (!chunks.out.length && !chunks.err.length) quiet();
        ws.on('close', () => setTimeout(() => reject(new Error(`exec in ${ns}/${pod} closed without a status`)), 200));
      },
      (e: { message?: string }) =>
        reject(new Error(`exec into ${ns}/${pod} (container ${container}) was refused: ${e.message ?? String(e)}`)),
    );
  }).finally(() => clearTimeout(timer));
  const stderr = Buffer.concat(chunks.err).toString('utf8').replace(HEARTBEAT_LINE, '');
  return { exitCode: exitCodeOf(status), stdout: Buffer.concat(chunks.out).toString('utf8'), stderr };
}

/** The apiserver's exec status: Success, or Failure with an ExitCode cause. */
function exitCodeOf(status: k8s.V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message) return Number(cause.message);
  throw new Error(`exec failed: ${status.message ?? status.reason ?? 'unknown error'}`);
}
