/**
 * The top costs of a V8 CPU profile (`node --cpu-prof`), by self time: what the benchmark reports
 * for its slowest scenario (issue 7: "a CPU profile summary of the top five costs").
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of the .cpuprofile format read here (Chrome DevTools Protocol Profiler.Profile). */
interface CpuProfile {
  readonly nodes: readonly { id: number; callFrame: CallFrame }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface CpuCost {
  /** Function name and where it is: `name (file:line)`, the path cut to its last two parts. */
  readonly frame: string;
  readonly selfMs: number;
  /** Share of the busy time (samples that were neither idle nor the profiler's own). */
  readonly share: number;
}

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

/** Source maps of bundled dependencies (@medplum/core ships minified with its map), by file. */
const sourceMaps = new Map<string, SourceMap | undefined>();

function sourceMapOf(url: string): SourceMap | undefined {
  if (!url.startsWith('file://')) return undefined;
  if (!sourceMaps.has(url)) {
    const mapFile = `${fileURLToPath(url)}.map`;
    sourceMaps.set(url, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : undefined);
  }
  return sourceMaps.get(url);
}

const shortPath = (file: string): string => file.split('/').slice(-2).join('/');

/** Not work of the server: waiting for I/O, and V8's own bookkeeping of the profile. */
const NOT_WORK = new Set(['(idle)', '(program)', '(root)']);

/** `name (file:line)`, through the source map where there is one, so minified names read as written. */
function frameOf(callFrame: CallFrame): string {
  if (!callFrame.url) return callFrame.functionName || '(native)';
  const entry = sourceMapOf(callFrame.url)?.findEntry(callFrame.lineNumber, callFrame.columnNumber);
  if (entry && 'originalSource' in entry) {
    const name = (entry as { name?: string }).name ?? callFrame.functionName;
    return `${name || '(anonymous)'} (${shortPath(entry.originalSource)}:${entry.originalLine + 1})`;
  }
  return `${callFrame.functionName || '(anonymous)'} (${shortPath(callFrame.url)}:${callFrame.lineNumber + 1})`;
}

export function topCosts(profile: CpuProfile, count: number): CpuCost[] {
  const frames = new Map(profile.nodes.map((node) => [node.id, frameOf(node.callFrame)]));
  const self = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((nodeId, i) => {
    const frame = frames.get(nodeId) ?? '(unknown)';
    const micros = profile.timeDeltas[i] ?? 0;
    if (NOT_WORK.has(frame)) return;
    busy += micros;
    self.set(frame, (self.get(frame) ?? 0) + micros);
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([frame, micros]) => ({ frame, selfMs: Math.round(micros / 1000), share: busy ? micros / busy : 0 }));
}

/** The one profile a process wrote into `dir` (`--cpu-prof-dir`). */
export function readProfileIn(dir: string): CpuProfile {
  const [file] = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
}
