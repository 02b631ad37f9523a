/**
 * An existing target of `--method dump --target` holds what TARGET_CONTENT_SQL lists (`databases a, b; roles x;
 * relations in database postgres N`): why it is refused, with what to do. The official image's entrypoint makes a
 * database named POSTGRES_DB, which defaults to POSTGRES_USER: an instance made with `POSTGRES_USER=admin` holds an
 * (empty) database `admin` from its first start, which a source of the same image has too, and the load would meet.
 * Pure.
 */
export function nonEmptyTarget(where: string, content: string, superuser: string): string {
  const dbs =
    content
      .split('; ')
      .find((x) => x.startsWith('databases '))
      ?.slice('databases '.length)
      .split(', ') ?? [];
  const own =
    dbs.includes(superuser) || dbs.includes(`"${superuser}"`)
      ? ` (database ${superuser} is probably the one the image made at its first start, named by POSTGRES_DB, which defaults to the superuser's ` +
        `name: drop it too if nothing uses it, and set POSTGRES_DB=postgres)`
      : '';
  return `${where} is not empty (${content}): a dump is loaded into an empty instance only; drop those as its superuser${own}, or name an empty instance`;
}
