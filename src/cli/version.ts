// The version kubecred reports, read once from package.json.
// Found by walking up from this module's directory, so it works from the sources (src/cli/) and from the
// bundle (dist/kubecred.mjs) alike.
import fs from 'node:fs';
import path from 'node:path';

function readOwnPackageJson(): { version: string } {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'kubecred') return pkg;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (path.dirname(dir) === dir) throw new Error(`kubecred: no package.json of kubecred above ${import.meta.dirname}`);
  }
}

export const VERSION: string = readOwnPackageJson().version;
