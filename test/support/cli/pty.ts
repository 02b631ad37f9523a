import { spawn } from 'node:child_process';

/** What a command printed on its terminal (stdout and stderr together, as a user sees them) and how it ended. */
export interface PtyResult {
  code: number;
  /** The terminal's text with the escape sequences and carriage returns taken out. */
  output: string;
  /** The text printed before the answer was typed ('' when there was no answer). */
  beforeAnswer: string;
}

/** Types `send` and Enter once the terminal shows `after`. */
export interface PtyAnswer {
  after: string;
  send: string;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The terminal's bytes as plain text: no colours, cursor moves or line erasures, no carriage returns. */
export function plainText(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\x1b[()][0-9A-B]/g, '')
    .replace(/\r/g, '');
}

/**
 * Runs a command on a real pseudo-terminal, as a user in a terminal would: util-linux `script` makes the pty, so
 * stdin, stdout and stderr are all TTYs (a prompt is asked, the live task tree is drawn). The terminal is made
 * wide (`stty cols`) so that long titles are not cut to 80 columns. Asynchronous, like `runAsync`, because the
 * node agent lives in the test process.
 */
export function runInPty(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  answer: PtyAnswer | undefined,
  timeoutMs: number,
): Promise<PtyResult> {
  const line = `stty cols 1000 rows 50; exec ${[cmd, ...args].map(quote).join(' ')}`;
  const base: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TERM: 'xterm-256color',
    SHELL: '/bin/sh',
  };
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', line, '/dev/null'], {
      env: { ...base, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let raw = '';
    let beforeAnswer = '';
    child.stdout.on('data', (d: Buffer) => {
      raw += d.toString();
      if (answer && !beforeAnswer && plainText(raw).includes(answer.after)) {
        beforeAnswer = plainText(raw);
        child.stdin.write(`${answer.send}\r`);
      }
    });
    child.stderr.on('data', (d: Buffer) => (raw += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const killed = signal === 'SIGKILL' ? `\n(killed after ${timeoutMs / 1000} s)` : '';
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 128), output: plainText(raw) + killed, beforeAnswer });
    });
  });
}
