import 'reflect-metadata';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigException, loadConfig } from '@engram/config';
import { USAGE, UsageError, parseRetrievalArgs } from './retrieval/args.js';
import { DatasetError, loadDataset } from './retrieval/dataset.js';
import { HttpTarget } from './retrieval/http.target.js';
import { InProcessTarget } from './retrieval/in-process.target.js';
import { summarise } from './retrieval/metrics.js';
import { formatReport, jsonReport } from './retrieval/report.js';
import { BenchError, type RetrievalTarget } from './retrieval/retrieval-target.js';
import { runRetrieval } from './retrieval/runner.js';

/**
 * `npm run bench:retrieval`: retrieval quality of the real service on a conversational memory set (API.md,
 * "Benchmarks"). Runs the service in-process on the server's configuration, or drives the server at ENGRAM_URL.
 */

const NAME = 'bench:retrieval';

const HELP = `${USAGE}

Adds each conversation of DIR (memories.jsonl, queries.jsonl in the locomo-dev format) as the memories of one
user named after the conversation (deleting what that user held first), searches every question in its
conversation and prints R@1, R@5, R@10 and MRR, overall and per category.

  --data DIR        the data set directory (required)
  --embedder NAME   local or hash; overrides EMBEDDINGS_PROVIDER (in-process only)
  --mode MODE       hybrid (default), vector or keyword
  --json FILE       also write {"overall": {...}, "by_category": {...}} to FILE

The environment is the server's (MEMORY_PROVIDER, DATABASE_URL, EMBEDDINGS_*, ...). DATA_DIR defaults to a
temporary directory that is removed afterwards. With ENGRAM_URL set, the server there is benchmarked through
its REST API instead (ENGRAM_API_KEY is sent as a bearer token when set).`;

async function main(argv: readonly string[]): Promise<number> {
  const args = parseRetrievalArgs(argv);
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const env: Record<string, string | undefined> = { ...process.env };
  const remote = env.ENGRAM_URL?.trim() || undefined;
  if (remote && args.embedder) {
    throw new UsageError(
      `--embedder chooses the embedder of the in-process service; the server at ENGRAM_URL=${remote} uses its own EMBEDDINGS_PROVIDER`,
    );
  }
  if (args.embedder) env.EMBEDDINGS_PROVIDER = args.embedder;

  const dataset = await loadDataset(args.data);
  // A temporary store unless the caller names one: benchmark users must not end up in ./data.
  const tempDir = !remote && !env.DATA_DIR?.trim() ? await mkdtemp(join(tmpdir(), 'engram-bench-')) : undefined;
  if (tempDir) env.DATA_DIR = tempDir;
  try {
    const config = loadConfig(env);
    const target: RetrievalTarget = remote
      ? await HttpTarget.connect(remote, config.apiKey?.reveal())
      : await InProcessTarget.start(config);
    try {
      const progress = (line: string) => console.error(`${NAME}: ${line}`);
      progress(
        `${dataset.conversations.length} conversations, ${dataset.questions.length} questions; embedder ${target.description.embedder}`,
      );
      const run = await runRetrieval(target, dataset, args.mode, progress);
      const summary = summarise(run.outcomes, dataset.categories);
      console.log(formatReport(summary, { dataset: args.data, mode: args.mode, target: target.description, run }));
      if (args.json) {
        await mkdir(dirname(args.json), { recursive: true });
        await writeFile(args.json, `${JSON.stringify(jsonReport(summary), null, 2)}\n`);
        progress(`wrote ${args.json}`);
      }
      return 0;
    } finally {
      await target.close();
    }
  } finally {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${NAME}: ${error.message}\n${USAGE}`);
      process.exitCode = 2;
    } else if (error instanceof ConfigException || error instanceof DatasetError || error instanceof BenchError) {
      // Expected mistakes get one line, not a stack trace.
      console.error(`${NAME}: ${error.message}`);
      process.exitCode = 1;
    } else {
      console.error(`${NAME}: failed:`, error);
      process.exitCode = 1;
    }
  },
);
