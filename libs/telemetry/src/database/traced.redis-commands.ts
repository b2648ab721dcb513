import { context, trace, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { Redis } from 'ioredis';

/** What ioredis hands `sendCommand`: the command's name, and the promise it settles with the reply. */
interface RedisCommand {
  name: string;
  promise: Promise<unknown>;
}

type SendCommand = (this: Redis, command: RedisCommand, stream?: unknown) => unknown;

let tracer: Tracer | null = null;
let installed = false;

/**
 * Redis commands as CLIENT spans, children of the active span: a request's key-value reads, rate-limit scripts and
 * job enqueues show up in its trace, whichever library sent them (the key-value store, the usage store, BullMQ),
 * since they all speak through ioredis. Commands outside any span (BullMQ's polling, background flushes) start no
 * trace. A span carries the command's name only: keys and arguments hold tenant and user ids and content.
 *
 * ioredis has no hook of its own, so this wraps `Redis.prototype.sendCommand` once per process, and the tracer of
 * the latest call is used (one app per process in production; two apps in one test process share it). The returned
 * function stops it, if that tracer is still the one in use.
 */
export function traceRedisCommands(next: Tracer): () => void {
  tracer = next;
  if (!installed) {
    installed = true;
    const prototype = Redis.prototype as unknown as { sendCommand: SendCommand };
    const send = prototype.sendCommand;
    prototype.sendCommand = function (this: Redis, command: RedisCommand, stream?: unknown): unknown {
      const parent = context.active();
      if (tracer === null || trace.getSpan(parent) === undefined) return send.call(this, command, stream);
      const operation = String(command.name).toUpperCase();
      const span = tracer.startSpan(
        `redis ${operation}`,
        { kind: SpanKind.CLIENT, attributes: { 'db.system': 'redis', 'db.operation': operation } },
        parent,
      );
      command.promise.then(
        () => span.end(),
        (error: unknown) => {
          span.setAttribute('error.type', error instanceof Error ? error.name : 'unknown');
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
      );
      return send.call(this, command, stream);
    };
  }
  return () => {
    if (tracer === next) tracer = null;
  };
}
