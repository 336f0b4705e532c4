import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/** The token in a connector's backend URL: 192 random bits, so it is the capability Label Studio holds. */
export function newConnectorToken(): string {
  return `lsc_${randomBytes(24).toString('base64url')}`;
}

/** Tokens are stored as SHA-256 hashes (like API keys): high-entropy secrets need no slow hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The start of a token, shown in listings so an admin can tell tokens apart. */
export function tokenPrefix(token: string): string {
  return token.slice(0, 8);
}

// Basic-auth passwords are chosen by people, so they get a salted slow hash.
const SCRYPT_KEY_LENGTH = 32;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64')}$${scryptSync(password, salt, SCRYPT_KEY_LENGTH).toString('base64')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = scryptSync(password, Buffer.from(salt, 'base64'), expected.length);
  return timingSafeEqual(actual, expected);
}

/** `Authorization: Basic base64(user:pass)`, or null when the header is absent or not Basic. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | null {
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
