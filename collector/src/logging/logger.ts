/**
 * Process logging (winston). One root logger writes to stderr; the top-level `logging` config
 * block reconfigures its level and format on every successful load, and every child logger
 * (component loggers, services) follows immediately because children share the root's state.
 * `logging { write_to = [...] }` also hands every line, as written to stderr, to log receivers
 * (`setWriteTo`) as entries labelled `component="alloy"`, like Alloy; lines are dropped, never
 * queued without bound, while a receiver has `MAX_PENDING_WRITES` entries in flight.
 *
 * Depends on winston and zod only; used by runtime, server, cli and components (through
 * `ComponentOptions.logger`).
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import { z } from 'zod';
import { logfmtValue } from './logfmt.js';

export { logfmtValue };
import { redactDeep, redactText } from './redact.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const LOG_FORMATS = ['logfmt', 'json'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Arguments of the top-level `logging` block (Alloy defaults: info, logfmt). */
export const loggingArgs = z.object({
  level: z.enum(LOG_LEVELS).default('info'),
  format: z.enum(LOG_FORMATS).default('logfmt'),
});
export type LoggingArgs = z.infer<typeof loggingArgs>;

export const DEFAULT_LOGGING: LoggingArgs = { level: 'info', format: 'logfmt' };

const MESSAGE = Symbol.for('message');

/** One log line for a receiver; structurally a `loki` `LogEntry`. */
export interface LogLine {
  readonly labels: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  readonly line: string;
  readonly timestampMs: number;
  readonly timestampNanos: number;
}

/** Where `logging { write_to }` sends lines; structurally a `loki` `LogsReceiver`. */
export interface LogLineReceiver {
  append(entries: readonly LogLine[]): Promise<void>;
}

/** Lines in flight to one receiver beyond which new lines are dropped for it. */
export const MAX_PENDING_WRITES = 1000;

/** The labels of the collector's own log entries (one shared object, as receivers expect). */
const OWN_LOG_LABELS = Object.freeze([Object.freeze({ name: 'component', value: 'alloy' })]);

type Info = winston.Logform.TransformableInfo & Record<string | symbol, unknown>;

function fields(info: Info): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const k of Object.keys(info)) {
    if (k === 'level' || k === 'message' || k === 'ts') continue;
    const v = info[k];
    if (v !== undefined) out.push([k, v]);
  }
  return out;
}

/** Every URL in the message and fields loses its credentials (`redact.ts`) before formatting. */
const redactFormat = winston.format((info) => {
  const i = info as Info;
  if (typeof i.message === 'string') i.message = redactText(i.message);
  for (const k of Object.keys(i)) {
    if (k === 'level' || k === 'message') continue;
    const v = i[k];
    if (v instanceof Error) i[k] = redactText(v.message);
    else if (v !== undefined) i[k] = redactDeep(v);
  }
  return i;
});

const logfmtFormat = winston.format((info) => {
  const i = info as Info;
  const parts = [`ts=${new Date().toISOString()}`, `level=${i.level}`, `msg=${logfmtValue(i.message)}`];
  for (const [k, v] of fields(i)) parts.push(`${k}=${logfmtValue(v)}`);
  i[MESSAGE] = parts.join(' ');
  return i;
});

const jsonFormat = winston.format((info) => {
  const i = info as Info;
  const o: Record<string, unknown> = { ts: new Date().toISOString(), level: i.level, msg: i.message };
  for (const [k, v] of fields(i)) o[k] = v instanceof Error ? v.message : v;
  i[MESSAGE] = JSON.stringify(o);
  return i;
});

function formatFor(f: LogFormat): winston.Logform.Format {
  return winston.format.combine(redactFormat(), f === 'json' ? jsonFormat() : logfmtFormat());
}

export interface LogManagerOptions {
  /** Where log lines go; default process.stderr (like Alloy). */
  readonly stream?: Writable;
  readonly level?: LogLevel;
  readonly format?: LogFormat;
}

export class LogManager {
  readonly root: winston.Logger;
  #current: LoggingArgs;
  #writeTo: ReadonlyArray<{ readonly receiver: LogLineReceiver; pending: number }> = [];
  /** Lines not forwarded to a receiver because it was backed up. */
  dropped = 0;

  constructor(opts: LogManagerOptions = {}) {
    this.#current = { level: opts.level ?? 'info', format: opts.format ?? 'logfmt' };
    this.root = winston.createLogger({
      level: this.#current.level,
      levels: { error: 0, warn: 1, info: 2, debug: 3 },
      format: formatFor(this.#current.format),
      transports: [
        new winston.transports.Stream({ stream: opts.stream ?? process.stderr }),
        new winston.transports.Stream({ stream: this.#forwarder() }),
      ],
    });
  }

  /** Sends every line to the `write_to` receivers; never blocks or throws. */
  #forwarder(): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _enc, done) => {
        if (this.#writeTo.length > 0) {
          const text = chunk.toString();
          const now = Date.now();
          const entry: LogLine = { labels: OWN_LOG_LABELS, line: text.endsWith('\n') ? text.slice(0, -1) : text, timestampMs: now, timestampNanos: 0 };
          for (const t of this.#writeTo) {
            if (t.pending >= MAX_PENDING_WRITES) {
              this.dropped++;
              continue;
            }
            t.pending++;
            t.receiver.append([entry]).then(
              () => t.pending--,
              () => {
                t.pending--;
                this.dropped++;
              },
            );
          }
        }
        done();
      },
    });
  }

  /** Replace the receivers of `logging { write_to }` (empty: stderr only). */
  setWriteTo(receivers: readonly LogLineReceiver[]): void {
    const keep = new Map(this.#writeTo.map((t) => [t.receiver, t]));
    this.#writeTo = receivers.map((r) => keep.get(r) ?? { receiver: r, pending: 0 });
  }

  get current(): LoggingArgs {
    return this.#current;
  }

  /** Apply a `logging` block; children created earlier follow. */
  configure(args: LoggingArgs): void {
    if (args.level !== this.#current.level) this.root.level = args.level;
    if (args.format !== this.#current.format) this.root.format = formatFor(args.format);
    this.#current = { ...args };
  }

  /** Logger for a component: carries `component_path` and `component_id` like Alloy. */
  component(id: string): winston.Logger {
    return this.root.child({ component_path: '/', component_id: id });
  }

  /** Logger for a runtime service (`service=http` ...). */
  service(name: string): winston.Logger {
    return this.root.child({ service: name });
  }
}

