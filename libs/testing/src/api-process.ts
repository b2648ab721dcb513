import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

/**
 * The built apps in processes of their own, as `npm start` runs them (jest's global setup builds them once): for the
 * suites that prove what only a real process shows (boot, restarts, several API processes sharing state).
 */

/** The repository's root, where the built apps are (`apps/<app>/dist/main.js`). */
const ROOT = join(import.meta.dirname, '..', '..', '..');
const API_ENTRY = 'apps/api/dist/main.js';
const WORKER_ENTRY = 'apps/worker/dist/main.js';
const START_TIMEOUT_MS = 30_000;

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

/** A request to a real server: `body` sent as JSON; the answer's body parsed as JSON (kept as text when it is not). */
export async function requestJson(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

/** A built app running in a process of its own. */
export interface BuiltAppProcess {
  process: ChildProcess;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  /** Ends it with SIGTERM and waits for it to exit; nothing if it has exited already. */
  stop(): Promise<void>;
  /** Ends it with SIGKILL, as a crash would (no shutdown hooks, jobs left locked), and waits for it to exit. */
  kill(): Promise<void>;
}

export interface ApiProcess extends BuiltAppProcess {
  /** Where it listens, as it logged it (`http://127.0.0.1:<port>`). */
  url: string;
  request(method: string, path: string, options?: RequestOptions): Promise<JsonResponse>;
}

export type WorkerProcess = BuiltAppProcess;

/**
 * Starts the built API with `env` only (and PATH, HOME, PORT=0: a free port) and resolves once it logs where it
 * listens. Rejects, with what it wrote, if it exits first or is not listening within 30 s (it is killed then).
 */
export async function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const started = await startBuiltApp(API_ENTRY, { PORT: '0', ...env }, /listening on (http:\/\/\S+)/);
  const url = started.match[1];
  return {
    ...started.handle,
    url,
    request: (method, path, options) => requestJson(url, method, path, options),
  };
}

/**
 * Starts the built worker (`npm run start:worker`) with `env` only (and PATH, HOME) and resolves once it logs that
 * it started (written whatever LOG_LEVEL says). Rejects, with what it wrote, if it exits first or has not started
 * within 30 s (it is killed then).
 */
export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  return (await startBuiltApp(WORKER_ENTRY, env, /worker started/)).handle;
}

/** Spawns a built app and resolves once its output matches `ready`. */
function startBuiltApp(
  entry: string,
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ handle: BuiltAppProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let started = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} did not start:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = started ? null : ready.exec(output);
      if (match) {
        started = true;
        clearTimeout(timer);
        resolve({
          match,
          handle: {
            process: child,
            output: () => output,
            stop: () => stop(child, 'SIGTERM'),
            kill: () => stop(child, 'SIGKILL'),
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}:\n${output}`));
    });
  });
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/**
 * Runs a built app (`apps/api/dist/main.js`, `apps/worker/dist/main.js`) to its end with `env` only (and PATH):
 * for what it does at boot. Killed after 20 s.
 */
export function runBuiltApp(entry: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}
