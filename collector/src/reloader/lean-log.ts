/**
 * The config-reloader's logger: the collector's line formats (logfmt or json with `ts`, `level`,
 * `msg`, then fields) written straight to a stream, without winston, to keep the sidecar small.
 */
import type { Writable } from 'node:stream';
import { logfmtValue } from '../logging/logfmt.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export type Fields = Readonly<Record<string, unknown>>;

/** What the reloader logs through; a winston logger fits it too. */
export interface ReloaderLogger {
  debug(msg: string, fields?: Fields): unknown;
  info(msg: string, fields?: Fields): unknown;
  warn(msg: string, fields?: Fields): unknown;
  error(msg: string, fields?: Fields): unknown;
}

export interface LeanLoggerOptions {
  readonly stream: Writable;
  /** @default 'info' */
  readonly level?: LogLevel;
  /** @default 'logfmt' */
  readonly format?: 'logfmt' | 'json';
  /** Fields added to every line, e.g. `{ service: 'config-reloader' }`. */
  readonly base?: Fields;
}

export function leanLogger(opts: LeanLoggerOptions): ReloaderLogger {
  const min = LOG_LEVELS.indexOf(opts.level ?? 'info');
  const line = (level: LogLevel, msg: string, fields: Fields = {}): void => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const all = Object.entries({ ...opts.base, ...fields }).filter(([, v]) => v !== undefined);
    const ts = new Date().toISOString();
    const text =
      opts.format === 'json'
        ? JSON.stringify({ ts, level, msg, ...Object.fromEntries(all.map(([k, v]) => [k, v instanceof Error ? v.message : v])) })
        : [`ts=${ts}`, `level=${level}`, `msg=${logfmtValue(msg)}`, ...all.map(([k, v]) => `${k}=${logfmtValue(v)}`)].join(' ');
    opts.stream.write(`${text}\n`);
  };
  return {
    debug: (m, f) => line('debug', m, f),
    info: (m, f) => line('info', m, f),
    warn: (m, f) => line('warn', m, f),
    error: (m, f) => line('error', m, f),
  };
}
