/**
 * First and later starts of the embedded database (issue 22): `kanplan serve` on a new DATA_DIR,
 * spawned as `npm start` runs it, timed from spawn to "kanplan is ready", with the install-time
 * template (src/server/embedded-template.ts) and without it (EMBEDDED_TEMPLATE_DIR=off); then a
 * second start on the same directory. Prints the median of the runs and the RSS once ready.
 *
 *   node bench/first-start.ts [runs=3]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeEmbeddedTemplate } from '../src/cli/template.ts';
import { loadConfig } from '../src/config.ts';
import { startKanplan } from './load/processes.ts';

const runs = Number(process.argv[2] ?? 3);
// The settings `npm start` runs with (demo data on), so the template is the one npm install made.
const env = { LOAD_DEMO_DATA: 'true' };

const config = loadConfig({ ...process.env, ...env });
if (!config.embeddedTemplateDir) throw new Error('EMBEDDED_TEMPLATE_DIR=off: nothing to compare');
const { made } = await makeEmbeddedTemplate(config, config.embeddedTemplateDir);
if (made) console.log('(template made first, as npm install would)');

interface Figures {
  first: number[];
  later: number[];
  firstCpu: number[];
  laterCpu: number[];
  rss: number[];
}

/**
 * CPU milliseconds (user + system) a process has used: on a loaded machine the wall time to
 * ready stretches with the other processes, its CPU time much less (the start is one thread).
 */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // utime and stime are fields 14 and 15 of proc(5), 12 and 13 after the command name, in clock ticks (100 a second).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function measure(extra: Record<string, string>): Promise<Figures> {
  const figures: Figures = { first: [], later: [], firstCpu: [], laterCpu: [], rss: [] };
  for (let run = 0; run < runs; run++) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'kanplan-first-start-'));
    try {
      const first = await startKanplan({ ...env, ...extra, DATA_DIR: dataDir });
      figures.first.push(first.startupMs);
      figures.firstCpu.push(cpuMs(first.pid));
      figures.rss.push(first.rssMiB());
      await first.stop();
      const later = await startKanplan({ ...env, ...extra, DATA_DIR: dataDir });
      figures.later.push(later.startupMs);
      figures.laterCpu.push(cpuMs(later.pid));
      await later.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return figures;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
for (const [name, extra] of [['with the template', {}], ['without the template', { EMBEDDED_TEMPLATE_DIR: 'off' }]] as const) {
  const f = await measure(extra);
  console.log(`${name}: first start ${median(f.first)} ms (CPU ${median(f.firstCpu)} ms), RSS ${median(f.rss)} MiB; later start ${median(f.later)} ms (CPU ${median(f.laterCpu)} ms); runs ${f.first.join(', ')} / ${f.later.join(', ')} ms`);
}
