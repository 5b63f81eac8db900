/** winston logger for the operator: logfmt (default, like Alloy) or JSON lines on stderr. */
import winston from 'winston';

export type LogFormat = 'logfmt' | 'json';

function logfmtValue(v: unknown): string {
  const s = typeof v === 'string' ? v : v instanceof Error ? v.message : JSON.stringify(v);
  return /^[^\s"=]+$/.test(s ?? '') ? (s ?? '') : JSON.stringify(s);
}

const logfmt = winston.format.printf((info) => {
  const { level, message, timestamp, ...rest } = info as Record<string, unknown>;
  const fields = Object.entries(rest)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${logfmtValue(v)}`);
  return [`ts=${String(timestamp)}`, `level=${String(level)}`, `msg=${logfmtValue(message)}`, ...fields].join(' ');
});

/** Writes to `stream` (default stderr). @throws when level or format is unknown. */
export function createLogger(level: string, format: string, stream: NodeJS.WritableStream = process.stderr): winston.Logger {
  if (!['error', 'warn', 'info', 'debug'].includes(level)) throw new Error(`--log-level must be error, warn, info or debug, got ${JSON.stringify(level)}`);
  if (format !== 'logfmt' && format !== 'json') throw new Error(`--log-format must be logfmt or json, got ${JSON.stringify(format)}`);
  const logger = winston.createLogger({
    level,
    defaultMeta: { component: 'alloy-operator' },
    format: winston.format.combine(winston.format.timestamp(), format === 'json' ? winston.format.json() : logfmt),
    transports: [new winston.transports.Stream({ stream })],
  });
  // winston formats every message and passes it through its streams before the transport drops
  // the ones below `level`; the operator's level is fixed at start, so those calls do nothing here.
  for (const l of QUIETER[level as keyof typeof QUIETER]) logger[l] = discard;
  return logger;
}

/** Levels more verbose than each `--log-level`. */
const QUIETER = { error: ['warn', 'info', 'debug'], warn: ['info', 'debug'], info: ['debug'], debug: [] } as const;

const discard: winston.LeveledLogMethod = function (this: winston.Logger) {
  return this;
} as winston.LeveledLogMethod;
