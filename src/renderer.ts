/** The listr2 renderers we use; 'silent' keeps stdout for -o json|yaml alone. */
export type RendererName = 'default' | 'simple' | 'verbose' | 'silent';

/** What the renderer choice depends on; gathered once by {@link detectRendererEnv}. */
export interface RendererEnv {
  isTTY: boolean;
  ci: boolean;
  noColor: boolean;
  debug: boolean;
  output: OutputFormat;
}

export type OutputFormat = 'text' | 'json' | 'yaml';

/**
 * The one place that picks the task-tree renderer. Structured output must be the only thing on stdout, so it
 * silences the tree; a terminal gets the live tree; logs (CI, pipes, NO_COLOR) get plain lines, with timings
 * and task output when debugging.
 */
export function chooseRenderer(env: RendererEnv): RendererName {
  if (env.output !== 'text') return 'silent';
  if (env.isTTY && !env.ci && !env.noColor) return 'default';
  return env.debug ? 'verbose' : 'simple';
}

/** Reads the renderer inputs from the process. */
export function detectRendererEnv(
  flags: { output?: OutputFormat; debug?: boolean; color?: boolean },
  env: NodeJS.ProcessEnv = process.env,
  isTTY: boolean = process.stdout.isTTY === true,
): RendererEnv {
  return {
    isTTY,
    ci: isCi(env),
    noColor: flags.color === false || isNoColor(env),
    debug: flags.debug === true,
    output: flags.output ?? 'text',
  };
}

/** NO_COLOR (https://no-color.org): any non-empty value disables colour. */
export function isNoColor(env: NodeJS.ProcessEnv): boolean {
  return (env.NO_COLOR ?? '') !== '';
}

/** CI systems set CI=true (GitHub, GitLab, CircleCI, Buildkite…); CI=false or 0 means a person asked otherwise. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const v = (env.CI ?? '').toLowerCase();
  return v !== '' && v !== 'false' && v !== '0';
}
