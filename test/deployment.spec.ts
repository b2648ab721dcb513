import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, parseAllDocuments } from 'yaml';
import { createScratchDatabase, startApiProcess, type ApiProcess, type ScratchDatabase } from '@engram/testing';

/**
 * The deployment files (Dockerfile, docker-compose.yml, infra/), checked for what can be checked without a Docker
 * engine or a cluster: they parse, they name only variables the configuration knows, their probes are routes the app
 * serves, and the commands the image runs exist after the build and start the apps.
 */

const ROOT = join(import.meta.dirname, '..');
const read = (path: string) => readFile(join(ROOT, path), 'utf8');

/** The variables `libs/config` reads: the keys of its one schema. */
async function knownVariables(): Promise<Set<string>> {
  const source = await read('libs/config/src/env.schema.ts');
  const block = /const envSchema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(source);
  if (!block) throw new Error('env.schema.ts: envSchema not found');
  return new Set([...block[1].matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1]));
}

async function yamlFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.ya?ml$/.test(entry.name))
      found.push(join(entry.parentPath, entry.name).slice(ROOT.length + 1));
  }
  return found.sort();
}

interface Dockerfile {
  stages: Array<{ from: string; name?: string; lines: string[] }>;
}

/** Instructions with their continuation lines joined, by stage. */
function parseDockerfile(text: string): Dockerfile {
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Dockerfile['stages'] = [];
  for (const line of instructions) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1], name: from[2], lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return { stages };
}

/** `ENV A=1 B=2` of a stage, as a record. */
function envOf(lines: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of lines.filter((l) => /^ENV\s/i.test(l))) {
    for (const match of line.slice(4).matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)/g)) {
      env[match[1]] = match[2].replace(/^"|"$/g, '');
    }
  }
  return env;
}

/** The exec form of an instruction (`CMD ["node", "x"]`). */
function execForm(lines: string[], instruction: string): string[] {
  const line = lines.findLast((l) => l.toUpperCase().startsWith(`${instruction} `));
  if (!line) throw new Error(`no ${instruction}`);
  return JSON.parse(line.slice(instruction.length + 1)) as string[];
}

interface K8sContainer {
  name: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes objects of every kind
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: any };

async function k8sObjects(): Promise<K8sObject[]> {
  const objects: K8sObject[] = [];
  for (const file of await yamlFiles('infra/k8s')) {
    for (const doc of parseAllDocuments(await read(file))) {
      const object = doc.toJS() as K8sObject | null;
      if (object && file !== 'infra/k8s/kustomization.yaml') objects.push(object);
    }
  }
  return objects;
}

const containersOf = (objects: K8sObject[]) =>
  objects
    .filter((o) => o.kind === 'Deployment')
    .flatMap((o) => (o.spec.template.spec.containers as K8sContainer[]).map((c) => ({ deployment: o, container: c })));

describe('deployment files', () => {
  let known: Set<string>;
  let dockerfile: Dockerfile;
  let compose: {
    services: Record<string, { environment?: Record<string, unknown>; command?: string[]; build?: unknown }>;
  };
  let objects: K8sObject[];

  beforeAll(async () => {
    known = await knownVariables();
    dockerfile = parseDockerfile(await read('Dockerfile'));
    compose = parse(await read('docker-compose.yml'), { merge: true }) as typeof compose;
    objects = await k8sObjects();
  });

  it('knows the variables of API.md', () => {
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'WORKER', 'ENGRAM_API_KEY', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
      expect(known).toContain(name);
    }
  });

  it('every YAML file parses without errors or warnings', async () => {
    const files = ['docker-compose.yml', ...(await yamlFiles('infra'))];
    expect(files).toEqual(expect.arrayContaining(['infra/otel-collector.yaml', 'infra/k8s/api-deployment.yaml']));
    for (const file of files) {
      for (const doc of parseAllDocuments(await read(file))) {
        expect({ file, errors: doc.errors, warnings: doc.warnings }).toEqual({ file, errors: [], warnings: [] });
      }
    }
  });

  describe('Dockerfile', () => {
    it('builds in a stage with development dependencies and runs a runtime stage with production ones only', () => {
      expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
      const [build, runtime] = [dockerfile.stages[0], dockerfile.stages.at(-1)!];
      expect(build.lines.join('\n')).toMatch(/npm ci\b[\s\S]*node scripts\/build\.mjs[\s\S]*npm prune --omit=dev/);
      expect(runtime.lines.filter((l) => /^COPY\s/.test(l)).every((l) => l.includes(`--from=${build.name}`))).toBe(
        true,
      );
      expect(runtime.lines.some((l) => /^RUN\s.*npm (ci|install)/.test(l))).toBe(false);
    });

    it('runs as an unprivileged user, the API by default, with a health check on /health', () => {
      const runtime = dockerfile.stages.at(-1)!;
      const user = runtime.lines.findLast((l) => l.startsWith('USER '));
      expect(user).toBeDefined();
      expect(user!.slice(5).trim()).not.toMatch(/^(root|0)(:|$)/);
      expect(execForm(runtime.lines, 'CMD')).toEqual(['node', 'apps/api/dist/main.js']);
      expect(runtime.lines.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/'\/health'/);
    });

    it('sets only variables the configuration knows', () => {
      const env = envOf(dockerfile.stages.at(-1)!.lines);
      expect(Object.keys(env).length).toBeGreaterThan(0);
      for (const name of Object.keys(env).filter((n) => n !== 'NODE_ENV')) expect(known).toContain(name);
    });

    it('does not send dependencies or builds into the build context', async () => {
      const ignored = (await read('.dockerignore')).split('\n').map((line) => line.trim());
      expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.env']));
    });
  });

  describe('docker-compose.yml', () => {
    it('runs Postgres with pgvector, Redis, the API without workers, a worker, and a collector with infra/ config', () => {
      const { services } = compose;
      expect(Object.keys(services).sort()).toEqual(['api', 'otel-collector', 'postgres', 'redis', 'worker']);
      expect((services.postgres as { image: string }).image).toMatch(/^pgvector\/pgvector:pg1[5-9]$/);
      expect(services.api.environment).toMatchObject({ WORKER: 'false' });
      expect(services.worker.command).toEqual(['node', 'apps/worker/dist/main.js']);
      const collector = services['otel-collector'] as { volumes: string[] };
      const mounted = collector.volumes.map((v) => v.split(':')[0]);
      expect(mounted).toContain('./infra/otel-collector.yaml');
      expect(services.api.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
    });

    it('gives the API and the worker only variables the configuration knows, with the services they need', () => {
      for (const name of ['api', 'worker']) {
        const environment = compose.services[name].environment ?? {};
        for (const variable of Object.keys(environment))
          expect({ service: name, variable, known: known.has(variable) }).toEqual({
            service: name,
            variable,
            known: true,
          });
        expect(environment.DATABASE_URL).toMatch(/@postgres:5432\//);
        expect(environment.REDIS_URL).toBe('redis://redis:6379');
      }
    });

    it('points the collector at the API service for /metrics', async () => {
      const collector = parse(await read('infra/otel-collector.yaml')) as {
        receivers: {
          prometheus: {
            config: { scrape_configs: Array<{ metrics_path: string; static_configs: Array<{ targets: string[] }> }> };
          };
        };
      };
      const scrape = collector.receivers.prometheus.config.scrape_configs[0];
      expect(scrape.metrics_path).toBe('/metrics');
      expect(scrape.static_configs[0].targets).toEqual(['api:8080']);
    });
  });

  describe('Kubernetes manifests (infra/k8s)', () => {
    it('has an API Deployment and Service, a worker Deployment, configuration, an autoscaler and a budget', () => {
      const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
      expect(kinds).toEqual([
        'ConfigMap/engram-config',
        'Deployment/engram-api',
        'Deployment/engram-worker',
        'HorizontalPodAutoscaler/engram-api',
        'PodDisruptionBudget/engram-api',
        'Secret/engram-secrets',
        'Service/engram-api',
      ]);
    });

    it('lists every manifest in its kustomization', async () => {
      const kustomization = parse(await read('infra/k8s/kustomization.yaml')) as { resources: string[] };
      const files = (await yamlFiles('infra/k8s')).map((f) => f.slice('infra/k8s/'.length));
      expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== 'kustomization.yaml'));
    });

    it('sets only variables the configuration knows, from the ConfigMap and Secret the containers read', () => {
      const config = objects.find((o) => o.kind === 'ConfigMap')!;
      const secret = objects.find((o) => o.kind === 'Secret')!;
      const names = [...Object.keys(config.data), ...Object.keys(secret.stringData)];
      for (const variable of names) expect({ variable, known: known.has(variable) }).toEqual({ variable, known: true });
      expect(config.data.WORKER).toBe('false');
      for (const { container } of containersOf(objects)) {
        for (const { name } of container.env ?? []) expect(known).toContain(name);
        const sources = (container.envFrom ?? []).map((s) => s.configMapRef?.name ?? s.secretRef?.name);
        expect(sources.sort()).toEqual([config.metadata.name, secret.metadata.name].sort());
      }
    });

    it('runs the API and the worker by their built entry points, as separate Deployments', () => {
      const byName = new Map(
        containersOf(objects).map(({ deployment, container }) => [deployment.metadata.name, container]),
      );
      expect(byName.get('engram-api')?.args).toEqual(['node', 'apps/api/dist/main.js']);
      expect(byName.get('engram-worker')?.args).toEqual(['node', 'apps/worker/dist/main.js']);
      expect(byName.get('engram-worker')?.readinessProbe).toBeUndefined();
    });

    it('probes liveness on /health and readiness on /ready, on the port the container and the Service name', () => {
      const api = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'engram-api')!;
      const container = api.spec.template.spec.containers[0] as K8sContainer;
      expect(container.livenessProbe?.httpGet?.path).toBe('/health');
      expect(container.readinessProbe?.httpGet?.path).toBe('/ready');
      const portNames = (container.ports ?? []).map((p) => p.name);
      for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
        if (probe) expect(portNames).toContain(probe.httpGet?.port);
      }
      const service = objects.find((o) => o.kind === 'Service')!;
      expect(service.spec.selector).toEqual(api.spec.selector.matchLabels);
      expect(portNames).toContain(service.spec.ports[0].targetPort);
      const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler')!;
      expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'engram-api' });
    });
  });

  describe('the commands the image runs (built apps, started locally)', () => {
    const API_KEY = 'deployment-test-key';
    let database: ScratchDatabase;
    let dataDir: string;
    let api: ApiProcess;

    beforeAll(async () => {
      [database, dataDir] = await Promise.all([createScratchDatabase(), mkdtemp(join(tmpdir(), 'engram-deployment-'))]);
      const imageEnv = envOf(dockerfile.stages.at(-1)!.lines);
      // The image's environment, with what this machine must differ in: a free port, a writable data directory, a
      // database (compose and Kubernetes give one), the key the image's HOST requires, and the offline test embedder.
      api = await startApiProcess({
        ...imageEnv,
        PORT: '0',
        DATA_DIR: dataDir,
        DATABASE_URL: database.url,
        ENGRAM_API_KEY: API_KEY,
        EMBEDDINGS_PROVIDER: 'hash',
      });
    }, 60_000);

    afterAll(async () => {
      await api?.stop();
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('finds every command of the Dockerfile, compose and Kubernetes after the build', () => {
      const commands = [
        execForm(dockerfile.stages.at(-1)!.lines, 'CMD'),
        compose.services.worker.command!,
        ...containersOf(objects).map(({ container }) => container.args ?? container.command ?? []),
      ];
      for (const command of commands) {
        expect(command[0]).toBe('node');
        expect({ entry: command[1], exists: existsSync(join(ROOT, command[1])) }).toEqual({
          entry: command[1],
          exists: true,
        });
      }
    });

    it('starts the API with the image environment and answers every probe the manifests and the image use', async () => {
      const probes = new Set<string>();
      for (const { container } of containersOf(objects)) {
        for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
          if (probe?.httpGet) probes.add(probe.httpGet.path);
        }
      }
      const healthcheck = dockerfile.stages.at(-1)!.lines.find((l) => l.startsWith('HEALTHCHECK'))!;
      probes.add(/'(\/[a-z]+)'/.exec(healthcheck)![1]);
      expect([...probes].sort()).toEqual(['/health', '/ready']);
      for (const path of probes) {
        const res = await fetch(`${api.url}${path}`);
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
      }
      const local = api.url;
      // The key the image's HOST requires is enforced on everything else.
      expect((await fetch(`${local}/v1/memories?user_id=u`)).status).toBe(401);
      expect(
        (await fetch(`${local}/v1/memories?user_id=u`, { headers: { authorization: `Bearer ${API_KEY}` } })).status,
      ).toBe(200);
    });

    it('starts the worker command with the API’s database and Redis, and stops it with SIGTERM, exit 0', async () => {
      const worker = spawn(process.execPath, ['apps/worker/dist/main.js'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: database.url,
          // Redis database 3 of the machine's server: the one this suite may use.
          REDIS_URL: 'redis://127.0.0.1:6379/3',
          EMBEDDINGS_PROVIDER: 'hash',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const exited = new Promise<number | string | null>((resolve) =>
        worker.once('exit', (code, signal) => resolve(code ?? signal)),
      );
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 30_000);
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('worker started')) {
            clearTimeout(timer);
            resolve();
          }
        };
        worker.stdout.on('data', onData);
        worker.stderr.on('data', onData);
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`worker exited with ${code}:\n${output}`));
        });
      });
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
    });
  });
});
