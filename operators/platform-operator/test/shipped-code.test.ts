/**
 * What the operator's build ships (tsconfig.json → dist/, the files its image runs): its sources, not
 * its test beds. The PostgreSQL test bed runs `ip addr add` and the LocalDriver starts PostgreSQL
 * processes; both live in test/ and must never be compiled into the package.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const operatorDir = path.join(root, 'operators/platform-operator');

/** The operator's own files the build compiles, relative to the operator. */
function builtFiles(): string[] {
  const out = execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(operatorDir, 'tsconfig.json'), '--listFilesOnly'], { encoding: 'utf8', cwd: root });
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((file) => file.startsWith(`${operatorDir}/`))
    .map((file) => path.relative(operatorDir, file));
}

describe('the operator build', () => {
  it('when its files are listed, then it compiles the sources and no test, test bed or fake', () => {
    const files = builtFiles();
    expect(files).toEqual(expect.arrayContaining(['src/main.ts', 'src/reconcilers/postgrescluster.ts']));
    expect(files.filter((f) => !f.startsWith('src/') || /\.test\.ts$|(^|\/)testing\//.test(f))).toEqual([]);
    expect(files.filter((f) => /\bip addr add\b|new LocalDriver\b/.test(readFileSync(path.join(operatorDir, f), 'utf8')))).toEqual([]);
  });
});
