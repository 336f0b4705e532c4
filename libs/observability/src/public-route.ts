import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'labelloop:public';

/** Marks a route that needs no API key (health probes, metrics scrape). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
