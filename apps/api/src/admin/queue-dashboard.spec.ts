import { dashboardApiKey } from './queue-dashboard';

describe('dashboardApiKey', () => {
  it('takes the key from a bearer header', () => {
    expect(dashboardApiKey('Bearer abc123')).toBe('abc123');
  });

  it('takes the key from the password of Basic credentials, whatever the user name', () => {
    const header = `Basic ${Buffer.from('anyone:s3cr:et').toString('base64')}`;
    expect(dashboardApiKey(header)).toBe('s3cr:et');
  });

  it('finds no key without a header, with an empty password or another scheme', () => {
    expect(dashboardApiKey(undefined)).toBeNull();
    expect(dashboardApiKey(`Basic ${Buffer.from('user:').toString('base64')}`)).toBeNull();
    expect(dashboardApiKey('Digest xyz')).toBeNull();
  });
});
