import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The module graph of docs/architecture.md, read from the code's own imports. A module is a
 * folder of src/ (or a single file such as src/config.ts); tiers run from the edge down:
 * a module imports modules of lower tiers only, plus the same-tier arrows listed below.
 */
const TIERS: readonly (readonly string[])[] = [
  ['cli'],
  ['server'],
  ['fhir'],
  ['search', 'validation', 'documents', 'auth', 'jobs', 'workflow'],
  ['terminology', 'conformance'],
  ['store'],
  ['outcomes', 'config'],
];
/** Same-tier arrows that are part of the design (acyclic by construction). */
const SAME_TIER: ReadonlySet<string> = new Set(['terminology -> conformance', 'auth -> workflow']);

const SRC = path.resolve('src');

interface Import {
  readonly from: string;
  readonly to: string;
  /** `import type` / `export type`: no load-time edge. */
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative import of a file: static, re-exports and dynamic `import()`. */
function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Import[] = [];
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean): void => {
    if (specifier && ts.isStringLiteral(specifier) && specifier.text.startsWith('.')) {
      found.push({ from: file, to: path.resolve(path.dirname(file), specifier.text), typeOnly });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const namedTypesOnly =
        clause?.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings) && clause.name === undefined &&
        clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier, Boolean(clause?.isTypeOnly) || namedTypesOnly);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function moduleOf(file: string): string {
  const [first] = path.relative(SRC, file).split(path.sep);
  return first.replace(/\.ts$/, '');
}

function tierOf(module: string): number {
  const tier = TIERS.findIndex((modules) => modules.includes(module));
  if (tier < 0) throw new Error(`src/${module} is in no tier of the module graph: add it to TIERS and to docs/architecture.md`);
  return tier;
}

/** Cycles among files through load-time imports (strongly connected components, Tarjan). */
function cycles(imports: readonly Import[]): string[][] {
  const edges = new Map<string, string[]>();
  for (const { from, to, typeOnly } of imports) {
    if (!typeOnly) edges.set(from, [...(edges.get(from) ?? []), to]);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(path.relative(SRC, member));
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) connect(node);
  return found;
}

describe('the module graph of src/', () => {
  const files = sourceFiles(SRC);
  const imports = files.flatMap(importsOf);

  it('has its imports run one way: cli → server → fhir → {search, validation, documents, auth} → {terminology, conformance} → store → {outcomes, config}', () => {
    const wrongWay = imports
      .map(({ from, to }) => ({ from: moduleOf(from), to: moduleOf(to), file: path.relative(SRC, from), target: path.relative(SRC, to) }))
      .filter(({ from, to }) => from !== to && (tierOf(to) < tierOf(from) || (tierOf(to) === tierOf(from) && !SAME_TIER.has(`${from} -> ${to}`))))
      .map(({ file, target }) => `${file} imports ${target}`);
    expect(wrongWay).toEqual([]);
  });

  it('has no cycle of load-time imports among files', () => {
    expect(cycles(imports)).toEqual([]);
  });

  it('keeps express in src/server/ and the database drivers in src/store/', () => {
    const misplaced = files.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      const module = moduleOf(file);
      return [
        ...(/from 'express'/.test(text) && module !== 'server' ? [`${path.relative(SRC, file)} imports express`] : []),
        ...(/from '(pg|@electric-sql\/pglite)'|import\('(pg|@electric-sql\/pglite)'\)/.test(text) && module !== 'store' ? [`${path.relative(SRC, file)} imports a database driver`] : []),
      ];
    });
    expect(misplaced).toEqual([]);
  });

  it('leaves SQL to the store and the search engine: nothing in fhir/ or server/ sends a statement', () => {
    const querying = files
      .filter((file) => ['fhir', 'server'].includes(moduleOf(file)))
      .filter((file) => /\.sql\.|\bdb\.(query|exec)\(|['`"]\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|WITH)\s/.test(readFileSync(file, 'utf8')))
      .map((file) => path.relative(SRC, file));
    expect(querying).toEqual([]);
  });
});

describe('the size of src/ files', () => {
  it('keeps every file under ~400 lines: one concept per file', () => {
    const long = sourceFiles(SRC)
      .map((file) => ({ file: path.relative(SRC, file), lines: readFileSync(file, 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > 420)
      .map(({ file, lines }) => `${file}: ${lines} lines`);
    expect(long).toEqual([]);
  });
});
