import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from './command.ts';

/**
 * The files a command reads (`import`, `validate`): the files named on the command line, and from
 * each directory named its .json/.yaml/.yml files in name order (not its subdirectories). A path
 * that does not exist is a usage error, reported before any file is read.
 */
export function listInputFiles(paths: readonly string[]): string[] {
  const missing = paths.filter((p) => !statSync(p, { throwIfNoEntry: false }));
  if (missing.length > 0) {
    throw new UsageError(`No such file or directory: ${missing.join(', ')}`);
  }
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => /\.(json|ya?ml)$/.test(f))
          .sort()
          .map((f) => path.join(p, f))
      : [p],
  );
}

/** YAML for .yaml/.yml files, JSON for everything else. */
export function mediaTypeOf(file: string): 'application/json' | 'application/yaml' {
  return /\.ya?ml$/i.test(file) ? 'application/yaml' : 'application/json';
}
