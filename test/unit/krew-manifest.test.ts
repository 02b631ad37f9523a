import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { archiveName, buildKrewManifest, krewMeta, krewTemplate, PLATFORMS } from '../../scripts/lib/krew-manifest.ts';
import { renderKrewTemplate } from '../../scripts/lib/krew-template.ts';
import { repoRoot } from '../support/paths.ts';

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const committed = fs.readFileSync(path.join(repoRoot, 'krew-manifest.yaml'), 'utf8');
const sumOf = (name: string) =>
  name
    .replace(/[^0-9a-z]/g, '')
    .padEnd(64, '0')
    .slice(0, 64);

test('the committed krew-manifest.yaml is what the generator makes (caveats from src/rbac.ts included)', () => {
  // On failure: `node scripts/package.ts --template`, then commit krew-manifest.yaml.
  assert.fixture(committed, krewTemplate(krewMeta(pkg)));
});

test('rendered as krew-release-bot renders it, the template is the manifest the generator builds for a release', () => {
  const version = '1.2.3';
  const base = `${pkg.homepage}/releases/download/v${version}`;
  const rendered = renderKrewTemplate(committed, `v${version}`, (url) => ({
    uri: url,
    sha256: sumOf(path.posix.basename(url)),
  }));
  const archives = PLATFORMS.map((p) => {
    const name = archiveName(version, p.os, p.arch);
    return { ...p, uri: `${base}/${name}`, sha256: sumOf(name) };
  });
  assert.equal(load(rendered), load(buildKrewManifest(version, krewMeta(pkg), archives)));
  assert.match(rendered, `uri: ${base}/kubectl-pgupgrade_1.2.3_linux_amd64.tar.gz\n    sha256: `);
});

test('the renderer follows the bot: | indent N, .Version in URLs; anything else is refused', () => {
  const asset = (url: string) => ({ uri: url, sha256: 'abc' });
  assert.is(
    renderKrewTemplate(
      '  - x: 1\n      {{addURIAndSha "https://h/{{ .TagName }}/p_{{ .Version }}.tgz" .TagName | indent 6 }}\n',
      'v2.0.1',
      asset,
    ),
    '  - x: 1\n      uri: https://h/v2.0.1/p_2.0.1.tgz\n      sha256: abc\n',
  );
  assert.is(renderKrewTemplate('version: {{ .TagName }}', 'v1.0.0', asset), 'version: v1.0.0');
  assert.throws(() => renderKrewTemplate('version: {{ .Other }}', 'v1.0.0', asset), /\{\{ \.Other \}\}/);
});

test('a version that is not semver is refused', () => {
  assert.throws(() => buildKrewManifest('1.2', krewMeta(pkg), []), /not semver/);
});

test.run();
