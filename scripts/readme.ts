// `node scripts/readme.ts`: rewrites the generated parts of README.md (the table of supported majors) from the code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BEGIN, END, majorsTable } from './lib/majors-table.ts';

const file = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), 'README.md');
const text = fs.readFileSync(file, 'utf8');
const [i, j] = [text.indexOf(BEGIN), text.indexOf(END)];
if (i < 0 || j < 0) throw new Error(`README.md has no ${BEGIN} … ${END} section`);
fs.writeFileSync(file, text.slice(0, i) + majorsTable() + text.slice(j + END.length));
console.log('README.md: the table of supported majors rewritten');
