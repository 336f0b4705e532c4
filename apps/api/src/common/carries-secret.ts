import { Header } from '@nestjs/common';

/**
 * For a response that carries a secret shown only once (a new API key, a connector token): no browser cache
 * or proxy may keep a copy of it.
 */
export const CarriesSecret = (): MethodDecorator => Header('Cache-Control', 'no-store');
