import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

/**
 * The built apps in processes of their own, as `npm start` runs them (jest's global setup builds them once): for the
 * suites that prove what only a real process shows (boot, restarts, several API processes sharing state).
 */

/** The repository's root, where the built apps are (`apps/<app>/dist/main.js`). */
const ROOT = join(import.meta.dirname, '..', '..', '..');
const API_ENTRY = 'apps/api/dist/main.js';
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

export interface ApiProcess {
  process: ChildProcess;
  /** Where it listens, as it logged it (`http://127.0.0.1:<port>`). */
  url: string;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  request(method: string, path: string, options?: RequestOptions): Promise<JsonResponse>;
  /** Ends it with SIGTERM and waits for it to exit; nothing if it has exited already. */
  stop(): Promise<void>;
}

/**
 * Starts the built API with `env` only (and PATH, HOME, PORT=0: a free port) and resolves once it logs where it
 * listens. Rejects, with what it wrote, if it exits first or is not listening within 30 s (it is killed then).
 */
export function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const child = spawn(process.execPath, [API_ENTRY], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        const url = match[1];
        resolve({
          process: child,
          url,
          output: () => output,
          request: (method, path, options) => requestJson(url, method, path, options),
          stop: () => stop(child),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
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
