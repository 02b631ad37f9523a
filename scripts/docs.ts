// `node scripts/docs.ts`: rewrites the generated pages of docs/ (docs/rbac.md, from src/rbac.ts). A unit test
// (test/unit/docs.test.ts) fails when a committed page and its generator disagree.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RBAC_DOC, rbacDoc } from './lib/rbac-doc.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
fs.writeFileSync(path.join(root, RBAC_DOC), rbacDoc());
console.log(`${RBAC_DOC}: rewritten from src/rbac.ts`);
