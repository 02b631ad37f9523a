import type { OutputFormat } from './renderer.ts';

/** Where a command writes; handlers get it as a parameter so that tests can capture it. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** The process's own streams. */
export const processIo: Io = {
  out: (t) => void process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => void process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

/** Prints a report as text, JSON or YAML; structured output is the only thing a command writes to stdout. */
export async function printReport<T>(io: Io, format: OutputFormat, data: T, text: (d: T) => string): Promise<void> {
  if (format === 'json') io.out(JSON.stringify(data, null, 2));
  else if (format === 'yaml') {
    const { dump } = await import('js-yaml');
    io.out(dump(data, { noRefs: true, lineWidth: 120 }));
  } else io.out(text(data));
}
