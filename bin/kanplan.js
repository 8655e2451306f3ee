#!/usr/bin/env node
// Runs the kanplan CLI on the Node 24 that the project pins as a devDependency (@medplum 5
// needs Node >= 22.18), whatever `node` is first on PATH.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pinned = path.join(root, 'node_modules', 'node', 'bin', 'node');
const node = existsSync(pinned) ? pinned : process.execPath;
// A 4 MB young generation: V8's default let it grow to 32-64 MB, and each scavenge then stopped
// the server for 5-20 ms, the tail of every latency figure (docs/architecture.md, "Garbage collection").
const result = spawnSync(node, ['--max-semi-space-size=4', path.join(root, 'src', 'cli', 'main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
