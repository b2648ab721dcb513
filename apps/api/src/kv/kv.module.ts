import { Module } from '@nestjs/common';
import { KvController } from './kv.controller.js';

@Module({ controllers: [KvController] })
export class KvModule {}
