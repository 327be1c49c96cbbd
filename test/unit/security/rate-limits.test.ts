import { ACCOUNT_BACKOFF, ADDRESS_BACKOFF, BackoffStore, backoffDelayMs, loginPolicies } from '../../../src/api/rate-limits';

const read = (s: BackoffStore, key: string) => new Promise<{ current: number; ttl: number }>((resolve) => s.read(key, (_e, r) => resolve(r!)));
const incr = (s: BackoffStore, key: string) => new Promise<{ current: number; ttl: number }>((resolve) => s.incr(key, (_e, r) => resolve(r!)));

describe('login backoff', () => {
  test('the default waits: 5 free failures, then 1, 2, 4, 8, 16 s and never more than 30 s', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, ACCOUNT_BACKOFF))).toEqual([0, 0, 0, 0, 0]);
    expect([6, 7, 8, 9, 10, 11, 12, 100, 10_000].map((n) => backoffDelayMs(n, ACCOUNT_BACKOFF) / 1000)).toEqual([1, 2, 4, 8, 16, 30, 30, 30, 30]);
    expect(backoffDelayMs(10_000, ADDRESS_BACKOFF)).toBe(30_000);
    expect(loginPolicies({}).account).toEqual(ACCOUNT_BACKOFF);
    expect(loginPolicies({ LOGIN_FREE_FAILURES: 3, LOGIN_BACKOFF_MAX_SECONDS: 2 }).account).toMatchObject({ free: 3, capMs: 2000 });
  });

  test('the store: exceeded (current > free) only while the wait after the last failure runs; forgotten after forgetMs; reset clears', async () => {
    let now = 1_000_000;
    const s = new BackoffStore({ free: 2, baseMs: 1000, capMs: 4000, forgetMs: 60_000 }, () => now);
    expect(await read(s, 'a')).toEqual({ current: 0, ttl: 0 });
    await incr(s, 'a');
    await incr(s, 'a');
    expect(await read(s, 'a')).toEqual({ current: 2, ttl: 0 });
    expect(await incr(s, 'a')).toEqual({ current: 3, ttl: 1000 });
    expect(await read(s, 'a')).toEqual({ current: 3, ttl: 1000 });
    now += 999;
    expect(await read(s, 'a')).toEqual({ current: 3, ttl: 1 });
    now += 1;
    expect(await read(s, 'a')).toEqual({ current: 2, ttl: 0 });
    for (let i = 0; i < 10; i++) await incr(s, 'a');
    expect((await read(s, 'a')).ttl).toBe(4000);
    expect(await read(s, 'b')).toEqual({ current: 0, ttl: 0 });
    now += 60_000;
    expect(await read(s, 'a')).toEqual({ current: 0, ttl: 0 });
    await incr(s, 'a');
    s.reset('a');
    expect(await read(s, 'a')).toEqual({ current: 0, ttl: 0 });
  });

  test('the store remembers at most maxKeys keys, forgetting the least recently failed first', async () => {
    const s = new BackoffStore({ free: 0, baseMs: 1000, capMs: 1000, forgetMs: 60_000, maxKeys: 3 });
    for (const k of ['a', 'b', 'c', 'a', 'd']) await incr(s, k);
    expect((await read(s, 'b')).current).toBe(0);
    expect((await read(s, 'a')).current).toBe(2);
    expect((await read(s, 'd')).current).toBe(1);
  });
});
