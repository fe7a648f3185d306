import * as fs from 'node:fs';
import * as path from 'node:path';

/** The nearest folder at or above `from` whose package.json is moontrain's (source and built layouts alike). */
export function findPackageRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'moontrain') return dir;
    if (path.dirname(dir) === dir) throw new Error(`moontrain: no package.json named moontrain at or above ${from}`);
  }
}
