import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keyLength: number,
) => Promise<Buffer>;

/** The token in a connector's backend URL: 192 random bits, so it is the capability Label Studio holds. */
export function newConnectorToken(): string {
  return `lsc_${randomBytes(24).toString('base64url')}`;
}

/** The start of a token, shown in listings so an admin can tell tokens apart. */
export function tokenPrefix(token: string): string {
  return token.slice(0, 8);
}

// Basic-auth passwords are chosen by people, so they get a salted slow hash. The async scrypt runs on the
// libuv thread pool: a check costs tens of milliseconds that must not block the event loop.
const SCRYPT_KEY_LENGTH = 32;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, SCRYPT_KEY_LENGTH);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length);
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
