/**
 * Builds the kanplan app into app/dist: one esbuild bundle (app/src/main.ts, fhirclient included)
 * and the static pages. Run by `npm install` (prepare), `npm start` (prestart) and the browser
 * tests; esbuild takes well under a second. Without esbuild (an install without dev
 * dependencies) an existing build is kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const APP_DIR = path.dirname(fileURLToPath(import.meta.url));
export const APP_DIST = path.join(APP_DIR, 'dist');

export async function buildApp(options: { minify?: boolean } = {}): Promise<string> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    if (fs.existsSync(path.join(APP_DIST, 'app.js'))) return APP_DIST;
    throw new Error('esbuild is not installed: run `npm install` (with dev dependencies) to build the app.');
  }
  fs.mkdirSync(APP_DIST, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(APP_DIR, 'src/main.ts')],
    outfile: path.join(APP_DIST, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: options.minify ?? true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  for (const file of fs.readdirSync(path.join(APP_DIR, 'static'))) {
    fs.copyFileSync(path.join(APP_DIR, 'static', file), path.join(APP_DIST, file));
  }
  return APP_DIST;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  await buildApp();
  console.log(`app built into ${path.relative(process.cwd(), APP_DIST)} in ${Date.now() - started} ms`);
}
