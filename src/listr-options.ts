// The listr2 options every command's task tree runs with, in one place.
import { ListrLogger, ProcessOutput } from 'listr2';
import { chooseRenderer, detectRendererEnv } from './renderer.ts';

/**
 * The renderer chosen for the flags and the process, errors ending the tree, no signal handlers of listr2's own
 * (the CLI's run the clean-ups). `resultOnStdout`: the command's result is printed on stdout (--dry-run's YAML), so
 * a plain-lines tree (a pipe, CI) goes to stderr; a terminal's live tree stays where it is drawn.
 */
export function listrOptions(flags: Parameters<typeof detectRendererEnv>[0], resultOnStdout = false) {
  const renderer = chooseRenderer(detectRendererEnv(flags));
  const toStderr = resultOnStdout && (renderer === 'simple' || renderer === 'verbose');
  return {
    renderer,
    fallbackRenderer: 'simple' as const,
    exitOnError: true,
    collectErrors: false as const,
    registerSignalListeners: false,
    ...(toStderr
      ? {
          rendererOptions: {
            logger: new ListrLogger({
              useIcons: renderer === 'simple',
              processOutput: new ProcessOutput(process.stderr, process.stderr),
            }),
          },
        }
      : {}),
  };
}
