import { SetMetadata } from '@nestjs/common';
import type { AccessRule, AccessScope } from './principal.js';

/** Route metadata holding its AccessRule; the API's guard refuses any route without one. */
export const ACCESS_RULE = 'engram:accessRule';

/** A route anyone may call (liveness, readiness, docs). */
export const Public = () => SetMetadata(ACCESS_RULE, { audience: 'public' } satisfies AccessRule);

/** A tenant route: the key must carry every one of `scopes`. */
export const RequireScopes = (...scopes: AccessScope[]) =>
  SetMetadata(ACCESS_RULE, { audience: 'tenant', scopes } satisfies AccessRule);

/** A platform operator's route (`/v1/admin/*`): the admin token only. */
export const OperatorOnly = () => SetMetadata(ACCESS_RULE, { audience: 'operator' } satisfies AccessRule);
