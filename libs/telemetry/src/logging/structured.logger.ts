import type { LoggerService } from '@nestjs/common';
import { currentRequestContext } from '@engram/memory-core';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export type LogFormat = 'json' | 'text';

/** pino's numbering, so that `LOG_LEVEL` means what operators of other Node services expect. */
const SEVERITY: Record<LogLevel | 'silent', number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

/** Where lines go: stdout in the apps (one stream, for the log shipper), a buffer in tests. */
export interface LogSink {
  write(line: string): unknown;
}

export interface StructuredLoggerOptions {
  format: LogFormat;
  level: LogLevel | 'silent';
  sink?: LogSink;
}

/** Fields of a log line besides the fixed ones; values must be safe to log (ids, counts, durations: no content). */
export type LogFields = Record<string, unknown>;

const FIXED = new Set(['time', 'level', 'context', 'msg', 'request_id', 'tenant_id']);

/**
 * Nest's LoggerService writing one line per entry: JSON (`{"time","level","context","msg",...}`) for log
 * pipelines, or text for a terminal. Inside a request or job it adds that unit of work's `request_id` and
 * `tenant_id` from the request context, so that every line of a request can be found from its id.
 */
export class StructuredLogger implements LoggerService {
  private readonly threshold: number;
  private readonly sink: LogSink;

  constructor(private readonly options: StructuredLoggerOptions) {
    this.threshold = SEVERITY[options.level];
    this.sink = options.sink ?? process.stdout;
  }

  /** Whether a line at `level` would be written: callers skip building fields for lines that would be dropped. */
  isEnabled(level: LogLevel): boolean {
    return SEVERITY[level] >= this.threshold;
  }

  log(message: unknown, ...params: unknown[]): void {
    this.entry('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.entry('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.entry('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.entry('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.entry('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.entry('fatal', message, params);
  }

  /** Writes one line with structured fields (the access log, for one). */
  write(level: LogLevel, context: string, msg: string, fields: LogFields = {}): void {
    if (!this.isEnabled(level)) return;
    const line: LogFields = { time: new Date().toISOString(), level, context, msg };
    // Inside a request or job its context says who; outside (Fastify's response hook), the caller passes them.
    const request = currentRequestContext();
    const requestId = request?.requestId ?? fields.request_id;
    const tenantId = request?.principal.kind === 'tenant' ? request.principal.tenantId : fields.tenant_id;
    if (requestId !== undefined) line.request_id = requestId;
    if (tenantId !== undefined) line.tenant_id = tenantId;
    for (const [key, value] of Object.entries(fields)) if (value !== undefined && !FIXED.has(key)) line[key] = value;
    this.sink.write(this.options.format === 'json' ? `${JSON.stringify(line)}\n` : textLine(line));
  }

  /**
   * Nest's calling convention: `(message, context?)`, and for errors `(message, stack?, context?)`; the message may
   * be an Error or an object of fields.
   */
  private entry(level: LogLevel, message: unknown, params: unknown[]): void {
    if (!this.isEnabled(level)) return;
    const rest = [...params];
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : 'app';
    const fields: LogFields = {};
    let msg: string;
    if (message instanceof Error) {
      msg = message.message;
      fields.stack = message.stack;
    } else if (message !== null && typeof message === 'object') {
      const { msg: given, message: text, ...others } = message as LogFields;
      msg = String(given ?? text ?? '');
      Object.assign(fields, others);
    } else {
      msg = String(message);
    }
    if (typeof rest[0] === 'string' && (level === 'error' || level === 'fatal')) fields.stack = rest.shift();
    if (rest.length > 0) fields.details = rest;
    this.write(level, context, msg, fields);
  }
}

function textLine(line: LogFields): string {
  const { time, level, context, msg, stack, ...fields } = line;
  const extra = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const head = `${String(time)} ${String(level).toUpperCase().padEnd(5)} [${String(context)}] ${String(msg)}`;
  return `${head}${extra ? ` ${extra}` : ''}${stack ? `\n${String(stack)}` : ''}\n`;
}

/** The apps' logger for a configuration; `false` (Nest's "no logger") when LOG_LEVEL is silent. */
export function createLogger(config: {
  logFormat: LogFormat;
  logLevel: LogLevel | 'silent';
}): StructuredLogger | false {
  return config.logLevel === 'silent'
    ? false
    : new StructuredLogger({ format: config.logFormat, level: config.logLevel });
}
