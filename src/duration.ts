/**
 * Durations as people type them on the command line (`--older-than 24h`): one or more whole numbers, each with a
 * unit, s, m, h or d, largest first (`0s`, `30m`, `1h30m`, `7d`). Pure.
 */
const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
const ORDER = ['d', 'h', 'm', 's'];

/** The duration in milliseconds, or what is wrong with the text, said so that it can follow the flag's name. */
export function parseDuration(text: string): { ms: number } | { problem: string } {
  const t = text.trim();
  const usage = 'give a whole number with a unit s, m, h or d, e.g. 0s, 30m, 24h, 7d or 1h30m';
  if (!/^(\d+[dhms])+$/.test(t)) return { problem: `"${text}" is not a duration: ${usage}` };
  let ms = 0;
  let last = -1;
  for (const m of t.matchAll(/(\d+)([dhms])/g)) {
    const at = ORDER.indexOf(m[2] ?? '');
    if (at <= last) return { problem: `"${text}" is not a duration: each unit once, largest first (${usage})` };
    last = at;
    ms += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
  }
  if (!Number.isSafeInteger(ms)) return { problem: `"${text}" is too long a duration` };
  return { ms };
}

/** A duration for people: `2d 3h`, `45m`, `12s`; the two largest units that are not zero. */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.floor(ms / 1000)) * 1000;
  const parts: string[] = [];
  for (const u of ORDER) {
    const unit = UNIT_MS[u] ?? 1000;
    const n = Math.floor(rest / unit);
    rest -= n * unit;
    if (n > 0 && parts.length < 2) parts.push(`${n}${u}`);
  }
  return parts.length ? parts.join(' ') : '0s';
}
