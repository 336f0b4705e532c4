import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository (or image) root, found from this file so it works from sources and from dist/. */
export function projectRoot(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'labelloop') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`labelloop's package.json not found above ${start}`);
    dir = parent;
  }
}
