import { hashPassword, parseBasicAuth, verifyPassword } from './connector-credentials';

describe('connector credentials', () => {
  it('verifies the password a hash was made from, and only that one', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored).toMatch(/^scrypt\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
    expect(await verifyPassword('correct horse battery', 'plain$abc$def')).toBe(false);
  });

  it('does not block the event loop while it hashes', async () => {
    const stored = await hashPassword('correct horse battery');
    const order: string[] = [];
    setImmediate(() => order.push('event loop'));
    await verifyPassword('correct horse battery', stored).then(() => order.push('verified'));
    expect(order).toEqual(['event loop', 'verified']);
  });

  it('reads Basic authorization headers', () => {
    const header = `Basic ${Buffer.from('ls:pa:ss').toString('base64')}`;
    expect(parseBasicAuth(header)).toEqual({ user: 'ls', password: 'pa:ss' });
    expect(parseBasicAuth('Bearer abc')).toBeNull();
    expect(parseBasicAuth(undefined)).toBeNull();
  });
});
