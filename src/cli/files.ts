import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { CliError, EXIT } from './errors.js';

/** Read a YAML or JSON document (YAML is a superset of JSON; `.json` files get JSON's stricter parser). */
export function readDocument(path: string): unknown {
  let text: string;
  try {
    text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(EXIT.error, 'file_unreadable', `cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return path.toLowerCase().endsWith('.json') ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
  } catch (e) {
    throw new CliError(EXIT.error, 'invalid_file', `${path} is not valid ${path.toLowerCase().endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
