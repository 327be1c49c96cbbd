// Webhook targets must be public: loopback, link-local (cloud metadata), private and reserved
// addresses are refused, by literal or through what a name resolves to.
import { isPublicAddress, privateTargetProblem } from '../../../src/webhooks/target-guard';

describe('isPublicAddress', () => {
  test.each(['127.0.0.1', '127.8.9.10', '0.0.0.0', '10.1.2.3', '172.16.0.1', '172.31.255.254', '192.168.1.1', '169.254.169.254', '100.64.0.1', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd12:3456::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1'])('%s is not public', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });
  test.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:2800:220:1:248:1893:25c8:1946', '::ffff:93.184.216.34'])('%s is public', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });
  test('not an address at all is not public', () => {
    expect(isPublicAddress('example.org')).toBe(false);
  });
});

describe('privateTargetProblem', () => {
  const resolver = (table: Record<string, string[]>) => async (host: string) => {
    if (!(host in table)) throw new Error('ENOTFOUND');
    return table[host]!;
  };
  test('literal private addresses and localhost are refused without a lookup', async () => {
    const never = async () => {
      throw new Error('no lookup expected');
    };
    for (const url of ['http://127.0.0.1:8300/', 'http://[::1]:3000/x', 'http://0.0.0.0:5500', 'http://169.254.169.254/latest/meta-data', 'http://localhost:3100/', 'http://api.localhost/']) {
      expect({ url, problem: await privateTargetProblem(url, never) }).toEqual({ url, problem: expect.stringMatching(/^must be a public address/) });
    }
  });
  test('a name is judged by every address it resolves to', async () => {
    const dns = resolver({ 'hooks.example.org': ['93.184.216.34'], 'sneaky.example.org': ['93.184.216.34', '10.0.0.5'], 'internal.example.org': ['192.168.0.10'] });
    expect(await privateTargetProblem('https://hooks.example.org/kap', dns)).toBeNull();
    expect(await privateTargetProblem('https://sneaky.example.org/kap', dns)).toMatch(/private network/);
    expect(await privateTargetProblem('https://internal.example.org/kap', dns)).toMatch(/private network/);
    expect(await privateTargetProblem('https://nowhere.example.org/kap', dns)).toBe('the host name does not resolve');
  });
  test('a public literal address passes', async () => {
    expect(await privateTargetProblem('https://93.184.216.34/hook')).toBeNull();
  });
});
