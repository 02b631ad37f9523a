/** What a rendered `addURIAndSha` needs to know of one release asset. */
export type AssetLookup = (url: string) => { uri: string; sha256: string };

/** krew-release-bot's `indent`: sha256 back to column 0, then every line after the first padded. */
function indent(spaces: number, v: string): string {
  const pad = ' '.repeat(spaces);
  return (pad + v.replaceAll('    sha256:', 'sha256:').replaceAll('\n', `\n${pad}`)).trim();
}

/**
 * Renders a krew-release-bot template (its `.krew.yaml` form) the way the bot does for a release: inside the
 * quoted URL of `{{addURIAndSha "<url>" .TagName }}`, `{{ .TagName }}` is the tag and `{{ .Version }}` the tag
 * without its `v`; the call becomes `uri: <url>` and, four columns in, `sha256: <sum>` (`| indent N` moves it);
 * `{{ .TagName }}` elsewhere is the tag. The bot downloads each asset to sum it; `asset` answers here from the
 * archives just built. Any other template action is refused, so the committed file cannot use what this
 * renderer would get wrong.
 */
export function renderKrewTemplate(template: string, tag: string, asset: AssetLookup): string {
  const version = /\d+(\.\d+)+/.exec(tag)?.[0] ?? tag;
  const inner = (url: string) =>
    url.replace(/\{\{\s*\.TagName\s*\}\}/g, tag).replace(/\{\{\s*\.Version\s*\}\}/g, version);
  const call = /\{\{\s*addURIAndSha\s+"([^"]*)"\s+\.TagName\s*(?:\|\s*indent\s+(\d+)\s*)?\}\}/g;
  const out = template
    .replace(call, (_m, url: string, spaces?: string) => {
      const a = asset(inner(url));
      const text = `uri: ${a.uri}\n    sha256: ${a.sha256}`;
      return spaces ? indent(Number(spaces), text) : text;
    })
    .replace(/\{\{\s*\.TagName\s*\}\}/g, tag);
  const left = /\{\{.*?\}\}/.exec(out);
  if (left)
    throw new Error(
      `krew-manifest.yaml: template action ${left[0]} is not one krew-release-bot's form that this renderer knows`,
    );
  return out;
}
