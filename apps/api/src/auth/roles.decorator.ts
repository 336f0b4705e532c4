import { SetMetadata } from '@nestjs/common';
import type { ApiKeyRole } from '@labelloop/db';

export const REQUIRED_ROLE = 'labelloop:required-role';

/** The least role a route needs (admin > annotator > viewer). Routes without it need admin. */
export const RequireRole = (role: ApiKeyRole) => SetMetadata(REQUIRED_ROLE, role);
