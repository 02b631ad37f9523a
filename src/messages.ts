/** Every user-facing sentence longer than a task title. */
export const messages = {
  usage: [
    'Usage: kubectl pgupgrade <command> [options]',
    '',
    'Upgrades the PostgreSQL major version of a database that runs on Kubernetes without an operator:',
    'Bitnami-chart StatefulSets, official postgres image Deployments and vendor-bundled databases.',
  ].join('\n'),
  noCommand: 'name a command; run `kubectl pgupgrade --help` to see them',
  seeHelp: 'Run `kubectl pgupgrade --help` (or `<command> --help`) for usage. Nothing was changed.',
  interrupted: 'interrupted: stopping (press Ctrl-C again to exit at once)',
} as const;
