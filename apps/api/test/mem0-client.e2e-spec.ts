import { afterAll } from '@jest/globals';
import { startTestApp, type TestApp } from './api-test.app.js';
import { describeMem0ClientScenario, listenForMem0 } from './mem0-client.scenario.js';

/** The official mem0 JS client, unchanged, against the OSS edition (with ENGRAM_API_KEY: its `Token` auth). */
const API_KEY = 'oss-key-for-the-mem0-client';
let api: TestApp | undefined;

afterAll(async () => {
  await api?.close();
});

describeMem0ClientScenario('OSS', async () => {
  api = await startTestApp({ ENGRAM_API_KEY: API_KEY });
  return { host: await listenForMem0(api), apiKey: API_KEY };
});
