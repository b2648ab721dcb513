import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { SearchMode } from '@engram/memory-core';

export const USAGE =
  'usage: npm run bench:retrieval -- --data DIR [--embedder local|hash] [--mode hybrid|vector|keyword] [--json FILE]';

const EMBEDDERS = ['local', 'hash'] as const;
const MODES = ['hybrid', 'vector', 'keyword'] as const satisfies readonly SearchMode[];

export type BenchEmbedder = (typeof EMBEDDERS)[number];

export interface RetrievalArgs {
  /** Directory holding memories.jsonl and queries.jsonl. */
  data: string;
  /** Overrides EMBEDDINGS_PROVIDER; unset keeps what the environment says. */
  embedder?: BenchEmbedder;
  mode: SearchMode;
  /** Where to write the scores as JSON. */
  json?: string;
  help: boolean;
}

/** A mistake on the command line: printed as one line plus the usage, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parses the arguments after `npm run bench:retrieval --`. Relative paths are taken from the directory the user
 * ran npm in (INIT_CWD), not the project root where npm runs the script, so `--data ../x` means what it says.
 */
export function parseRetrievalArgs(
  argv: readonly string[],
  cwd = process.env.INIT_CWD ?? process.cwd(),
): RetrievalArgs {
  let values: { data?: string; embedder?: string; mode?: string; json?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        data: { type: 'string' },
        embedder: { type: 'string' },
        mode: { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // node:util's messages name the offending option well; only the trailing advice is Node-specific.
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(message);
  }
  if (values.help) return { data: '', mode: 'hybrid', help: true };

  if (values.data === undefined || values.data.trim() === '') {
    throw new UsageError('--data DIR is required (a directory with memories.jsonl and queries.jsonl)');
  }
  return {
    data: absolute(values.data, cwd),
    embedder: values.embedder === undefined ? undefined : oneOf('--embedder', values.embedder, EMBEDDERS),
    mode: values.mode === undefined ? 'hybrid' : oneOf('--mode', values.mode, MODES),
    json: values.json === undefined ? undefined : absolute(nonEmpty('--json', values.json), cwd),
    help: false,
  };
}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${option} must be one of ${allowed.join(', ')}, got "${value}"`);
}

function nonEmpty(option: string, value: string): string {
  if (value.trim() === '') throw new UsageError(`${option} needs a file name`);
  return value;
}

function absolute(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}
