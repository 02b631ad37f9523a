import { buildInfo, type BuildInfo } from '../../build-info.ts';
import type { CommandContext } from '../../context.ts';
import { printReport, type Io } from '../../output.ts';
import type { OutputFormat } from '../../renderer.ts';

/** The `version` report. */
export interface VersionReport extends BuildInfo {
  server: { gitVersion?: string; context?: string; error?: string };
}

/** Reads the server version through a raw GET, so that client-node is never loaded for `version`. */
export type ServerVersionFn = (ctx: CommandContext, timeoutMs: number) => Promise<{ gitVersion: string }>;

const SERVER_TIMEOUT_MS = 3000;

/**
 * Prints the plugin's own versions, then the server's when the cluster answers. A broken kubeconfig is a usage
 * error (exit 2); an unreachable server is not an error, because the local versions were still printed.
 */
export async function runVersion(
  ctx: CommandContext,
  opts: { output: OutputFormat },
  io: Io,
  serverVersion: ServerVersionFn = rawServerVersion,
): Promise<void> {
  const report: VersionReport = { ...buildInfo(), server: {} };
  let configError: unknown;
  try {
    report.server.context = (await ctx.resolve()).contextName;
  } catch (err) {
    configError = err;
    report.server.error = (err as Error).message;
  }
  if (!configError) {
    try {
      report.server.gitVersion = (await serverVersion(ctx, SERVER_TIMEOUT_MS)).gitVersion;
    } catch (err) {
      report.server.error = `unreachable: ${(err as Error).message}`;
    }
  }
  await printReport(io, opts.output, report, versionText);
  if (configError) throw configError;
}

function versionText(r: VersionReport): string {
  const server = r.server.gitVersion
    ? `${r.server.gitVersion} (context ${r.server.context})`
    : r.server.context
      ? `${r.server.error} (context ${r.server.context})`
      : 'not asked: no usable kubeconfig';
  return [`kubectl-pgupgrade: v${r.version} (commit ${r.commit})`, `node: ${r.node}`, `server: ${server}`].join('\n');
}

async function rawServerVersion(ctx: CommandContext, timeoutMs: number): Promise<{ gitVersion: string }> {
  const { getJson } = await import('../../k8s/raw-http.ts');
  const body = (await getJson(await ctx.resolve(), '/version', timeoutMs)) as { gitVersion?: string };
  return { gitVersion: String(body.gitVersion ?? 'unknown') };
}
