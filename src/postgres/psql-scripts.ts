import { JIT_OFF_PSQL_ARGS, JIT_OFF_PSQL_LINES, sessionOptions } from './session.ts';
import { DEFAULT_LOCK_TIMEOUT_MS, lockTimeoutOption } from './lock-wait.ts';

/**
 * The shell that runs one SQL text with psql in each database named on stdin, in the database pod or check's probe
 * pod: names and the password travel base64-encoded on stdin, never on a command line.
 */

/**
 * Shell that decodes one base64 line into $v, keeping every byte (a trailing newline too: the `.` guards it
 * against the command substitution). Names and the password travel base64-encoded on stdin, one per line, so
 * that a newline inside one cannot cut it or start another.
 */
export const DECODE_SH = `dec() { v=$(printf '%s' "$1" | base64 -d; echo .); v=\${v%.}; }`;

/** DECODE_SH, then the password from stdin's first line into PGPASSWORD (not exported yet). */
export const READ_PASSWORD_SH = `${DECODE_SH}
IFS= read -r b || exit 90
dec "$b"; PGPASSWORD=$v`;

/**
 * What the stdin of PSQL_SCRIPT and HELD_PSQL_SCRIPT carries: the password, then each database name, each as one
 * base64 line, then an empty line.
 */
export function psqlStdin(password: string, dbs: string[]): string {
  return `${[password, ...dbs].map((x) => Buffer.from(x, 'utf8').toString('base64')).join('\n')}\n\n`;
}

/**
 * Runs one SQL text in each database named on stdin (see psqlStdin): over TCP to the pod's own server, so that
 * the password is really tested, or, in check's probe pod, over the socket in $4. The name reaches psql as
 * PGDATABASE, never as -d: psql reads a -d value that holds `=` or starts with `postgresql://` as a connection
 * string whose host and port override -h and -p, so `CREATE DATABASE "host=elsewhere dbname=x"` would send the
 * password elsewhere; libpq takes its environment defaults as plain values. Prints `<base64 name>\t<json>` per
 * database, on one line (psql's layout newlines become spaces: JSON keeps its own escaped). JIT is off (see
 * JIT_OFF_PSQL_ARGS). `lockMs` bounds each lock wait (src/postgres/lock-wait.ts). Arguments: $1 user, $2 port,
 * $3 SQL, $4 host (default 127.0.0.1).
 */
export const psqlScript = (lockMs: number): string => `${READ_PASSWORD_SH}
export PGPASSWORD PGOPTIONS='${sessionOptions(lockTimeoutOption(lockMs))}'
while IFS= read -r b && [ -n "$b" ]; do
  dec "$b"
  out=$(PGDATABASE=$v psql -X -w -q -A -t -v ON_ERROR_STOP=1 -h "\${4:-127.0.0.1}" -p "$2" -U "$1" ${JIT_OFF_PSQL_ARGS} -c "$3") || exit $?
  printf '%s\\t' "$b"; printf '%s' "$out" | tr '\\n' ' '; printf '\\n'
done`;

/** psqlScript with the default lock limit (tests that run it outside the plugin). */
export const PSQL_SCRIPT = psqlScript(DEFAULT_LOCK_TIMEOUT_MS);
/**
 * PSQL_SCRIPT's sibling for a verification that runs while the applications start: one psql session per
 * database, all at once, each in a REPEATABLE READ transaction whose snapshot is taken first (a `\\!` shell escape
 * marks it, run by psql only after that statement). When every session holds its snapshot the script prints
 * `HELD`; the plugin may then let the applications write, since each session goes on reading the data as it was
 * at that instant. Then it prints `<base64 name>\\t<json>` lines as PSQL_SCRIPT does. Same arguments; stdin as PSQL_SCRIPT.
 */
export const heldPsqlScript = (lockMs: number): string => `${READ_PASSWORD_SH}
export PGPASSWORD PGOPTIONS='${sessionOptions(lockTimeoutOption(lockMs))}'
w=$(mktemp -d) || exit 91; i=0; pids=
while IFS= read -r b && [ -n "$b" ]; do
  i=$((i+1)); printf '%s' "$b" > "$w/$i.name"; dec "$b"
  ( printf '${JIT_OFF_PSQL_LINES}begin isolation level repeatable read;\\nselect 1;\\n\\\\! touch %s\\n%s;\\ncommit;\\n' "$w/$i.held" "$3" |
      PGDATABASE=$v psql -X -w -q -A -t -v ON_ERROR_STOP=1 -h "\${4:-127.0.0.1}" -p "$2" -U "$1" > "$w/$i.out" 2> "$w/$i.err"; echo $? > "$w/$i.rc" ) &
  pids="$pids $!"
done
while :; do
  n=0; j=1
  while [ "$j" -le "$i" ]; do { [ -f "$w/$j.held" ] || [ -f "$w/$j.rc" ]; } && n=$((n+1)); j=$((j+1)); done
  [ "$n" -ge "$i" ] && break; sleep 0.05
done
echo HELD
# Only the readers: a heartbeat (src/postgres/heartbeat.ts) may run beside them until the script ends.
wait $pids
j=1
while [ "$j" -le "$i" ]; do
  rc=$(cat "$w/$j.rc"); [ "$rc" = 0 ] || { cat "$w/$j.err" >&2; rm -rf "$w"; exit "$rc"; }
  printf '%s\\t' "$(cat "$w/$j.name")"; grep -v '^1$' "$w/$j.out" | tr '\\n' ' '; printf '\\n'; j=$((j+1))
done
rm -rf "$w"`;

/** heldPsqlScript with the default lock limit. */
export const HELD_PSQL_SCRIPT = heldPsqlScript(DEFAULT_LOCK_TIMEOUT_MS);
