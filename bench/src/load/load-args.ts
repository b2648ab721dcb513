import { parseArgs } from 'node:util';

export interface LoadArgs {
  memories: number;
  tenants: number;
  concurrency: number;
  durationS: number;
  /** When set, the first scope holds this many memories and every search goes to it. */
  scopeSize?: number;
  json?: string;
  /** Skip seeding: the server already holds the data of an earlier run with the same arguments. */
  reuse: boolean;
}

const USAGE =
  'usage: npm run bench -- [--memories N] [--tenants T] [--concurrency C] [--duration S] [--scope-size N] [--reuse] [--json FILE]';

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"\n${USAGE}`);
  return value;
}

export function parseLoadArgs(argv: string[]): LoadArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      memories: { type: 'string' },
      tenants: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      'scope-size': { type: 'string' },
      json: { type: 'string' },
      reuse: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const args: LoadArgs = {
    memories: positive('memories', values.memories, 10_000),
    tenants: positive('tenants', values.tenants, 10),
    concurrency: positive('concurrency', values.concurrency, 4),
    durationS: positive('duration', values.duration, 20),
    scopeSize: values['scope-size'] === undefined ? undefined : positive('scope-size', values['scope-size'], 0),
    json: values.json,
    reuse: values.reuse ?? false,
  };
  if (args.scopeSize !== undefined && args.scopeSize > args.memories) {
    throw new Error(`--scope-size (${args.scopeSize}) cannot exceed --memories (${args.memories})`);
  }
  return args;
}
