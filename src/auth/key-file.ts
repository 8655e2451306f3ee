import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A private key file made once and then only read: the content of `file`, or, on a fresh install,
 * the content `make` produces, written so that processes starting together agree on one key.
 * Each writes its candidate to a temporary file beside the target (mode 0600, flushed) and links
 * it into place with link(2), which fails when the name exists: exactly one candidate wins, no
 * reader ever sees a half-written file, and the losers read the winner's key. (A rename would
 * replace a key another process already uses, and writing the target directly can be read half
 * written.)
 */
export async function readOrCreateKeyFile(file: string, make: () => Promise<string> | string): Promise<string> {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  const content = await make();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const candidate = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(candidate, 'wx', 0o600);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(candidate, file);
    return content;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return fs.readFileSync(file, 'utf8');
  } finally {
    fs.rmSync(candidate, { force: true });
  }
}
