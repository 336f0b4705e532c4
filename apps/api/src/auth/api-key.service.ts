import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import { ApiKeyRecord, ApiKeyRole, ApiKeysRepository } from '@labelloop/db';
import { Principal } from './principal';

const KEY_PREFIX = 'll_';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(24).toString('base64url');
}

/**
 * Resolves bearer keys to principals. Lookups are cached (by the key's hash: the keys themselves are
 * never kept) for API_KEY_CACHE_SECONDS so the labeling hot path does not pay a query per request; a
 * revocation therefore takes effect within that many seconds on other replicas (at once on this one).
 */
@Injectable()
export class ApiKeyService {
  private readonly cache = new Map<string, { principal: Principal | null; expires: number }>();

  constructor(
    private readonly keys: ApiKeysRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The cached answer for `key` (null: unknown or revoked), or undefined when it must be looked up. */
  cached(key: string): Principal | null | undefined {
    const cached = this.cache.get(hashApiKey(key));
    return cached && cached.expires > Date.now() ? cached.principal : undefined;
  }

  async authenticate(key: string): Promise<Principal | null> {
    const hash = hashApiKey(key);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expires > now) return cached.principal;
    const record = await this.keys.findActiveByHash(hash);
    const principal = record
      ? { keyId: record.id, name: record.name, role: record.role, projectId: record.projectId }
      : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, expires: now + this.config.auth.keyCacheSeconds * 1000 });
    return principal;
  }

  async create(input: { name: string; role: ApiKeyRole; projectId: string | null }) {
    const key = generateApiKey();
    const record = await this.keys.create({
      ...input,
      keyHash: hashApiKey(key),
      prefix: key.slice(0, KEY_PREFIX.length + 6),
    });
    return { ...record, key };
  }

  list(projectId?: string): Promise<ApiKeyRecord[]> {
    return this.keys.list(projectId);
  }

  findById(id: string): Promise<ApiKeyRecord | null> {
    return this.keys.findById(id);
  }

  async revoke(id: string): Promise<ApiKeyRecord | null> {
    const revoked = await this.keys.revoke(id);
    this.cache.clear();
    return revoked;
  }

  /**
   * Makes sure someone can administer the service: ADMIN_API_KEY when set, otherwise a
   * generated admin key on the very first start, returned so the caller prints it once.
   */
  async bootstrapAdmin(): Promise<string | null> {
    const configured = this.config.auth.adminApiKey;
    if (configured) {
      // No prefix: ADMIN_API_KEY is chosen by the operator (often shared with other tools), and any part of it
      // that GET /v1/api-keys shows to every admin narrows a guess.
      await this.keys.ensure({
        name: 'admin (ADMIN_API_KEY)',
        keyHash: hashApiKey(configured),
        prefix: '',
        role: 'admin',
      });
      return null;
    }
    if ((await this.keys.countActiveAdmins()) > 0) return null;
    const created = await this.create({ name: 'admin (generated)', role: 'admin', projectId: null });
    return created.key;
  }
}
