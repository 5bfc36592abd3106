/**
 * Loads the KEK ring from config: the JSON text (a Kubernetes Secret) or a
 * file (`npm run up`: created with one random KEK when missing and allowed,
 * mode 0600). The ring is read once at start; rotating the KEK is a new
 * ring and a rolling restart, after which each replica re-wraps what the
 * old version still wraps.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatKeyRing, generateKek, parseKeyRing, type KeyRing } from './envelope.ts';

export function loadKeyRing(options: { json?: string; file: string; create: boolean }): KeyRing {
  if (options.json) return parseKeyRing(options.json);
  if (!existsSync(options.file)) {
    if (!options.create) throw new Error(`KEK ring ${options.file} is missing (SECRETS_KEK_CREATE=false)`);
    mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
    writeFileSync(options.file, formatKeyRing({ active: 1, keys: new Map([[1, generateKek()]]) }), { mode: 0o600, flag: 'wx' });
  }
  return parseKeyRing(readFileSync(options.file, 'utf8'));
}
