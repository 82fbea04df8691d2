import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT } from './errors.js';

/**
 * Where the CLI finds the server and its token: flags, then ELEVATE_URL / ELEVATE_TOKEN, then the
 * file written by `elevate login` ($ELEVATE_CONFIG or ~/.config/elevate/config.json, mode 0600).
 */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface StoredConfig {
  url?: string;
  token?: string;
}

export interface Settings {
  url: string;
  token: string | undefined;
  configPath: string;
}

type Env = Record<string, string | undefined>;

export function configPath(env: Env = process.env): string {
  if (env.ELEVATE_CONFIG) return env.ELEVATE_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'elevate', 'config.json');
}

export function readConfig(path: string): StoredConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(EXIT.error, 'config_unreadable', `cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    const o = parsed as Record<string, unknown>;
    return {
      ...(typeof o.url === 'string' ? { url: o.url } : {}),
      ...(typeof o.token === 'string' ? { token: o.token } : {}),
    };
  } catch {
    throw new CliError(EXIT.error, 'config_invalid', `${path} is not a valid Elevate config (expected {"url":…,"token":…})`);
  }
}

/** Write the config readable by its owner only (0600), in a 0700 directory. */
export function writeConfig(path: string, cfg: StoredConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  chmodSync(path, 0o600); // the file may have existed with a wider mode
}

export function normalizeUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(EXIT.usage, 'invalid_url', `"${raw}" is not a URL (expected e.g. ${DEFAULT_URL})`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(EXIT.usage, 'invalid_url', `the server URL must be http or https, not ${u.protocol}`);
  if (u.username || u.password) throw new CliError(EXIT.usage, 'invalid_url', 'put the token in --token or ELEVATE_TOKEN, not in the URL');
  return u.toString().replace(/\/+$/, '');
}

export function resolveSettings(flags: { url?: string | undefined }, env: Env = process.env): Settings {
  const path = configPath(env);
  const needFile = !(flags.url || env.ELEVATE_URL) || !env.ELEVATE_TOKEN;
  const file = needFile ? readConfig(path) : {};
  const url = flags.url || env.ELEVATE_URL || file.url || DEFAULT_URL;
  const token = env.ELEVATE_TOKEN || file.token || undefined;
  return { url: normalizeUrl(url), token, configPath: path };
}
