import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'engram:isPublic';

/** Marks a route that needs no API key (liveness, readiness, docs). Every other route is guarded. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
