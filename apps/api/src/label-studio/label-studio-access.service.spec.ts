import type { AppConfig } from '@labelloop/config';
import type {
  LabelStudioConnectorRecord,
  LabelStudioConnectorsRepository,
  ProjectsRepository,
} from '@labelloop/db';
import { hashPassword } from './connector-credentials';
import { BasicAuthRequired, LabelStudioAccess } from './label-studio-access.service';

describe('LabelStudioAccess basic auth', () => {
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  let connector: LabelStudioConnectorRecord;
  const access = (cacheSeconds: number) =>
    new LabelStudioAccess(
      {} as LabelStudioConnectorsRepository,
      {} as ProjectsRepository,
      { auth: { keyCacheSeconds: cacheSeconds } } as AppConfig,
    );
  /** Whether the check went to the thread pool (scrypt) or answered from the cache at once. */
  const hashed = async (subject: LabelStudioAccess, header: string) => {
    const order: string[] = [];
    setImmediate(() => order.push('event loop'));
    await subject.checkBasicAuth(connector, header).then(() => order.push('checked'));
    await new Promise((resolve) => setImmediate(resolve));
    return order[0] === 'event loop';
  };

  beforeAll(async () => {
    connector = {
      id: 'c1',
      basicAuthUser: 'ls',
      basicAuthPassHash: await hashPassword('a long password'),
    } as LabelStudioConnectorRecord;
  });

  it('caches a passed check, but never a failed one or another header', async () => {
    const subject = access(30);
    expect(await hashed(subject, basic('ls', 'a long password'))).toBe(true);
    expect(await hashed(subject, basic('ls', 'a long password'))).toBe(false);
    await expect(subject.checkBasicAuth(connector, basic('ls', 'wrong password'))).rejects.toBeInstanceOf(
      BasicAuthRequired,
    );
    await expect(subject.checkBasicAuth(connector, basic('ls', 'wrong password'))).rejects.toBeInstanceOf(
      BasicAuthRequired,
    );
    await expect(subject.checkBasicAuth(connector, undefined)).rejects.toBeInstanceOf(BasicAuthRequired);
    // Another connector with the same header is checked afresh.
    await expect(
      subject.checkBasicAuth(
        { ...connector, id: 'c2', basicAuthPassHash: await hashPassword('other password') },
        basic('ls', 'a long password'),
      ),
    ).rejects.toBeInstanceOf(BasicAuthRequired);
  });

  it('hashes every time with the cache off', async () => {
    const subject = access(0);
    expect(await hashed(subject, basic('ls', 'a long password'))).toBe(true);
    expect(await hashed(subject, basic('ls', 'a long password'))).toBe(true);
  });
});
