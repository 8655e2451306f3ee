import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * One full garbage collection once start-up is done. Start-up parses the R4 definitions, the
 * Kansas profiles and the JSON schemas (~120 MB of heap, measured), of which about a third stays
 * once indexed; left to V8, the rest stays resident until load makes it collect, so a server
 * that has just started looks (and on a small host, is) ~50 MiB larger than what it holds:
 * 411 → 358 MiB RSS on the embedded database (bench/RESULTS.md). `gc` is exposed for this call
 * only; a context made afterwards does not see it.
 */
export function collectStartupGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  setFlagsFromString('--no-expose-gc');
  gc?.();
}
