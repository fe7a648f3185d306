// A copy of the package (its sources, the built addon, a link to node_modules) in a new folder,
// for tests of what the package does outside this checkout.
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');

/** The built addon, or undefined when there is none (npm run build). */
export const builtAddon = ((file) => (fs.existsSync(file) ? file : undefined))(path.join(root, 'build', 'Release', 'moontrain.node'));

/** Copies package.json and `entries` (folders of the repository) with the built addon into `dir`. */
export function copyPackage(dir: string, addon: string, entries = ['lib', 'types', 'scripts']): void {
  fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
  for (const entry of ['package.json', ...entries]) fs.cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true });
  fs.copyFileSync(addon, path.join(dir, 'build', 'Release', 'moontrain.node'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
}
