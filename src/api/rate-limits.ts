// Rate limits, on @fastify/rate-limit (registered once, `global: false`: only the limiters below
// exist, each asked for by the route that needs it through `createRateLimit`).
//
// Logins (routes/login.ts) count FAILED attempts only (`{ increment: false }` to look, a real
// increment when the password was wrong), per account and per address, with a backoff instead of a
// lock-out: the first failures are free, then each further failure makes the next attempt wait
// 1, 2, 4, 8, 16 and at most 30 seconds. So the right password is never refused for longer than
// 30 s, and a guesser gets about two tries a minute per account. The address limit only slows
// accounts that have failed recently: a colleague behind the same clinic Wi-Fi whose account has no
// failures logs in at once. A success clears the account's failures; failures are forgotten 15
// minutes after the last one. The plugin's stores count requests in fixed windows; this policy
// needs the small BackoffStore below, which fits the plugin's store contract (incr / read / child).
//
// Client links (routes/client-assessment.ts): opening the form is limited per link (its nonce) and
// per client, never per address (clinics share one). Submitting answers is never rate-limited: a
// crisis answer must get through.
import rateLimit, { normalizeIP, type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface BackoffPolicy {
  /** Failures before any wait. */
  free: number;
  /** The wait after the first failure past `free`; it doubles with each further failure. */
  baseMs: number;
  capMs: number;
  /** Failures are forgotten this long after the last one. */
  forgetMs: number;
  /** At most this many keys are remembered (oldest forgotten first). */
  maxKeys?: number;
}

export const ACCOUNT_BACKOFF: BackoffPolicy = { free: 5, baseMs: 1000, capMs: 30_000, forgetMs: 15 * 60_000 };
export const ADDRESS_BACKOFF: BackoffPolicy = { free: 20, baseMs: 1000, capMs: 30_000, forgetMs: 15 * 60_000 };

/** Client links: opening the form, per link and per client, in 10-minute windows. */
export const CLIENT_LINK_LIMITS = { perLink: 60, perClient: 120, windowMs: 10 * 60_000 };

/** The wait after `failures` consecutive failures (0 while they are within the free ones). */
export function backoffDelayMs(failures: number, p: BackoffPolicy): number {
  if (failures <= p.free) return 0;
  return Math.min(p.capMs, p.baseMs * 2 ** Math.min(30, failures - p.free - 1));
}

type StoreCallback = (err: Error | null, res?: { current: number; ttl: number }) => void;

/**
 * A @fastify/rate-limit store whose limit is a backoff after failures. Used with `max: policy.free`:
 * `incr` records a failure; `read` answers `current > free` (exceeded) while the wait after the last
 * failure runs, with `ttl` the time left, and `current <= free` once it has passed.
 */
export class BackoffStore implements FastifyRateLimitStore {
  private readonly entries = new Map<string, { failures: number; lastAt: number }>();
  constructor(
    readonly policy: BackoffPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  private live(key: string, now: number) {
    const e = this.entries.get(key);
    if (e && now - e.lastAt >= this.policy.forgetMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  incr(key: string, cb: StoreCallback): void {
    const now = this.now();
    const failures = (this.live(key, now)?.failures ?? 0) + 1;
    this.entries.delete(key); // re-insert: Map order is then least recently failed first
    this.entries.set(key, { failures, lastAt: now });
    const maxKeys = this.policy.maxKeys ?? 50_000;
    for (const k of this.entries.keys()) {
      if (this.entries.size <= maxKeys) break;
      this.entries.delete(k);
    }
    cb(null, { current: failures, ttl: backoffDelayMs(failures, this.policy) });
  }

  read(key: string, cb: StoreCallback): void {
    const now = this.now();
    const e = this.live(key, now);
    if (!e) return cb(null, { current: 0, ttl: 0 });
    const wait = e.lastAt + backoffDelayMs(e.failures, this.policy) - now;
    cb(null, wait > 0 ? { current: e.failures, ttl: wait } : { current: Math.min(e.failures, this.policy.free), ttl: 0 });
  }

  /** Forgets the key's failures (after a successful login). */
  reset(key: string): void {
    this.entries.delete(key);
  }

  child(): FastifyRateLimitStore {
    return this;
  }
}

type LimitStore = FastifyRateLimitStore & { read(key: string, cb: StoreCallback, timeWindow: number, max: number): void };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const LocalStore = require('@fastify/rate-limit/store/LocalStore') as new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => LimitStore;

/**
 * The plugin's store: a limiter created with `{ backoffStore }` uses that BackoffStore (so its owner
 * can reset keys); every other limiter gets the plugin's own fixed-window LocalStore.
 */
class KapRateStore {
  private readonly fallback = new LocalStore(false, false, 10_000);
  incr(key: string, cb: StoreCallback, timeWindow: number, max: number): void {
    this.fallback.incr(key, cb, timeWindow, max);
  }
  read(key: string, cb: StoreCallback, timeWindow: number, max: number): void {
    this.fallback.read(key, cb, timeWindow, max);
  }
  child(routeOptions: { backoffStore?: BackoffStore; continueExceeding?: boolean; cache?: number }): FastifyRateLimitStore {
    return routeOptions.backoffStore ?? new LocalStore(routeOptions.continueExceeding ?? false, false, routeOptions.cache ?? 10_000);
  }
}

export async function installRateLimits(app: FastifyInstance): Promise<void> {
  await app.register(rateLimit, { global: false, store: KapRateStore as never });
}

export interface Throttled {
  retryAfterSeconds: number;
  by: 'account' | 'address';
}

export interface LoginThrottle {
  /**
   * Whether this attempt may be checked now; never counts it. `device` is the id of a browser this
   * account has logged in from before (a signed cookie, routes/login.ts): its attempts back off on
   * their own count, so an attacker hammering the account from elsewhere (or from the same Wi-Fi)
   * cannot keep its owner out for as long as the attack lasts.
   */
  check(req: FastifyRequest, email: string, device?: string | null): Promise<Throttled | null>;
  /** Counts a wrong password against the account (or the known device) and the address. */
  failed(req: FastifyRequest, email: string, device?: string | null): Promise<void>;
  /** A right password: the account's (and the device's) failures are forgotten. */
  succeeded(email: string, device?: string | null): void;
}

const accountKey = (email: string) => `account:${email.trim().toLowerCase()}`;

/** The login policies from the settings (LOGIN_FREE_FAILURES, LOGIN_ADDRESS_FREE_FAILURES, LOGIN_BACKOFF_MAX_SECONDS). */
export function loginPolicies(config: { LOGIN_FREE_FAILURES?: number; LOGIN_ADDRESS_FREE_FAILURES?: number; LOGIN_BACKOFF_MAX_SECONDS?: number }): { account: BackoffPolicy; address: BackoffPolicy } {
  const capMs = (config.LOGIN_BACKOFF_MAX_SECONDS ?? 30) * 1000;
  return {
    account: { ...ACCOUNT_BACKOFF, free: config.LOGIN_FREE_FAILURES ?? ACCOUNT_BACKOFF.free, capMs },
    address: { ...ADDRESS_BACKOFF, free: config.LOGIN_ADDRESS_FREE_FAILURES ?? ADDRESS_BACKOFF.free, capMs },
  };
}

export function loginThrottle(app: FastifyInstance, policies = { account: ACCOUNT_BACKOFF, address: ADDRESS_BACKOFF }): LoginThrottle {
  const accounts = new BackoffStore(policies.account);
  const addresses = new BackoffStore(policies.address);
  const keys = new WeakMap<FastifyRequest, string>();
  const keyFor = (email: string, device?: string | null) => (device ? `device:${device}:${accountKey(email)}` : accountKey(email));
  const byAccount = app.createRateLimit({ max: policies.account.free, timeWindow: policies.account.capMs, keyGenerator: (req: FastifyRequest) => keys.get(req) ?? '', backoffStore: accounts } as never);
  const byAddress = app.createRateLimit({ max: policies.address.free, timeWindow: policies.address.capMs, keyGenerator: (req: FastifyRequest) => `address:${normalizeIP(req.ip)}`, backoffStore: addresses } as never);
  return {
    async check(req, email, device) {
      keys.set(req, keyFor(email, device));
      const account = await byAccount(req, { increment: false });
      if (!account.isAllowed && account.isExceeded) return { retryAfterSeconds: Math.max(1, account.ttlInSeconds), by: 'account' };
      // A known device is slowed only by its own failures, never by the address it shares.
      if (device) return null;
      // The address limit slows only accounts that failed recently, never a colleague's.
      const address = await byAddress(req, { increment: false });
      if (!address.isAllowed && address.isExceeded && !account.isAllowed && account.remaining < account.max) return { retryAfterSeconds: Math.max(1, address.ttlInSeconds), by: 'address' };
      return null;
    },
    async failed(req, email, device) {
      keys.set(req, keyFor(email, device));
      await byAccount(req);
      await byAddress(req);
    },
    succeeded(email, device) {
      accounts.reset(accountKey(email));
      if (device) accounts.reset(keyFor(email, device));
    },
  };
}
