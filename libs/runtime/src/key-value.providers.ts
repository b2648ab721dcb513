import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { EngramConfig } from '@engram/config';
import {
  CLOCK,
  InProcessKeyValueProvider,
  KEY_VALUE_PROVIDER,
  type Clock,
  type KeyValueProvider,
} from '@engram/memory-core';
import { RedisKeyValueProvider } from '@engram/memory-redis';

/** Closes the KV provider's connection with the app. */
@Injectable()
class KeyValueLifecycle implements OnApplicationShutdown {
  constructor(@Inject(KEY_VALUE_PROVIDER) private readonly kv: KeyValueProvider) {}

  async onApplicationShutdown(): Promise<void> {
    await this.kv.close();
  }
}

/** Key-value memory: in Redis when REDIS_URL is set (shared by every API process), else in this process. */
export function keyValueProviders(config: EngramConfig): Provider[] {
  return [
    {
      provide: KEY_VALUE_PROVIDER,
      useFactory: (clock: Clock): KeyValueProvider =>
        config.redisUrl
          ? new RedisKeyValueProvider({ redisUrl: config.redisUrl.reveal() })
          : new InProcessKeyValueProvider(clock),
      inject: [CLOCK],
    },
    KeyValueLifecycle,
  ];
}
