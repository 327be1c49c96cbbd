// Signed, expiring, single-use links that let a client open an assessment without an account.
//
// token = base64url(payload JSON) "." base64url(HMAC-SHA256(linkKey, payload bytes))
// payload = { v: 1, p: 'assessment', a: assessmentId, e: expiry (unix seconds), n: 128-bit nonce }
// linkKey = HMAC-SHA256(SECRET_KEY, 'kap/client-links/v1'): a key of its own, so that no other use
// of SECRET_KEY can mint a link. The payload is signed, not encrypted: it carries only identifiers
// the workflow made (no name, no instrument), which is why it may travel in an email.
//
// Single use is per assessment: the first submission records a row in client_link_uses, and every
// link for that assessment (the invitation and each reminder) is spent with it. Opening a link to
// read the form does not spend it; submitting does (consumeClientLink).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/connect';

export type ClientLinkFailure = 'expired' | 'tampered' | 'used' | 'malformed';

export interface ClientLinkClaims {
  assessmentId: string;
  expiresAt: Date;
  nonce: string;
}

export type ClientLinkResult = ({ ok: true } & ClientLinkClaims) | { ok: false; reason: ClientLinkFailure };

const VERSION = 1;
const PURPOSE = 'assessment';
const MAX_TOKEN_LENGTH = 1024;

export function deriveLinkKey(secretKey: string | Buffer): Buffer {
  return crypto.createHmac('sha256', secretKey).update('kap/client-links/v1').digest();
}

function mac(key: Buffer, payload: Buffer): Buffer {
  return crypto.createHmac('sha256', key).update(payload).digest();
}

/** Signs a link token (pure: no database). */
export function signClientLink(linkKey: Buffer, claims: { assessmentId: string; expiresAt: Date; nonce?: string }): { token: string; nonce: string } {
  if (!claims.assessmentId) throw new Error('assessmentId is required');
  const nonce = claims.nonce ?? crypto.randomBytes(16).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ v: VERSION, p: PURPOSE, a: claims.assessmentId, e: Math.floor(claims.expiresAt.getTime() / 1000), n: nonce }), 'utf8');
  return { token: `${payload.toString('base64url')}.${mac(linkKey, payload).toString('base64url')}`, nonce };
}

/** Checks form, signature and expiry (pure: never answers 'used'). */
export function checkClientLink(linkKey: Buffer, token: unknown, now: Date = new Date()): ClientLinkResult {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 2 || !/^[A-Za-z0-9_-]+$/.test(parts[0]!) || !/^[A-Za-z0-9_-]+$/.test(parts[1]!)) return { ok: false, reason: 'malformed' };
  const payload = Buffer.from(parts[0]!, 'base64url');
  const given = Buffer.from(parts[1]!, 'base64url');
  // One spelling per token: base64url's last character carries unused bits, so without this check
  // several strings would decode to the same signature (a "tampered" token that still verifies).
  if (payload.toString('base64url') !== parts[0] || given.toString('base64url') !== parts[1]) return { ok: false, reason: 'malformed' };
  const expected = mac(linkKey, payload);
  // Signature first: a forged token learns nothing about expiry or use.
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return { ok: false, reason: 'tampered' };
  let claims: { v?: unknown; p?: unknown; a?: unknown; e?: unknown; n?: unknown };
  try {
    claims = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (claims.v !== VERSION || claims.p !== PURPOSE || typeof claims.a !== 'string' || !claims.a || typeof claims.e !== 'number' || !Number.isInteger(claims.e) || typeof claims.n !== 'string' || !claims.n) {
    return { ok: false, reason: 'malformed' };
  }
  const expiresAt = new Date(claims.e * 1000);
  if (now.getTime() >= expiresAt.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, assessmentId: claims.a, expiresAt, nonce: claims.n };
}

/**
 * The claims of a link whose signature checks out, whatever its expiry: a link the client really
 * received. Used only to take a critical answer given on a link that has closed (src/api/late-answers.ts);
 * a tampered or malformed token gives null.
 */
export function signedClaims(linkKey: Buffer, token: unknown): ClientLinkClaims | null {
  const r = checkClientLink(linkKey, token, new Date(0));
  return r.ok ? { assessmentId: r.assessmentId, expiresAt: r.expiresAt, nonce: r.nonce } : null;
}

export interface ClientLinksDeps {
  db: Db;
  secretKey: string | Buffer;
  /** Base URL of the client-facing site; links are `<publicUrl>/a/<token>`. */
  publicUrl: string;
  clock?: () => Date;
}

export interface ClientLinks {
  createClientLink(input: { assessmentId: string; expiresAt: Date | string }): { token: string; url: string; nonce: string; expiresAt: Date };
  /** Signature, expiry and single use; does not spend the link (opening the form is not submitting it). */
  verifyClientLink(token: unknown): Promise<ClientLinkResult>;
  /**
   * Verifies and spends the link atomically: of two concurrent submissions exactly one gets ok.
   * Call it in the same transaction as the write it guards by passing that transaction as `trx`.
   */
  consumeClientLink(token: unknown, trx?: Db): Promise<ClientLinkResult>;
  /** A validly signed link's claims even when expired or used (see signedClaims); null otherwise. */
  signedClaims(token: unknown): ClientLinkClaims | null;
}

export function createClientLinks(deps: ClientLinksDeps): ClientLinks {
  const key = deriveLinkKey(deps.secretKey);
  const now = deps.clock ?? (() => new Date());
  const base = deps.publicUrl.replace(/\/+$/, '');
  return {
    createClientLink(input) {
      const expiresAt = new Date(input.expiresAt);
      if (Number.isNaN(expiresAt.getTime())) throw new Error('expiresAt is not a valid time');
      const { token, nonce } = signClientLink(key, { assessmentId: input.assessmentId, expiresAt });
      return { token, url: `${base}/a/${token}`, nonce, expiresAt: new Date(Math.floor(expiresAt.getTime() / 1000) * 1000) };
    },
    async verifyClientLink(token) {
      const result = checkClientLink(key, token, now());
      if (!result.ok) return result;
      const used = await deps.db.selectFrom('client_link_uses').select('nonce').where('assessment_id', '=', result.assessmentId).executeTakeFirst();
      return used ? { ok: false, reason: 'used' } : result;
    },
    signedClaims(token) {
      return signedClaims(key, token);
    },
    async consumeClientLink(token, trx) {
      const result = checkClientLink(key, token, now());
      if (!result.ok) return result;
      const inserted = await (trx ?? deps.db)
        .insertInto('client_link_uses')
        .values({ nonce: result.nonce, assessment_id: result.assessmentId, expires_at: result.expiresAt })
        .onConflict((oc) => oc.doNothing())
        .returning('nonce')
        .executeTakeFirst();
      return inserted ? result : { ok: false, reason: 'used' };
    },
  };
}

/**
 * SECRET_KEY, or in development a key generated once and kept in DATA_DIR/secret.key (mode 0600),
 * so links survive a restart. Production refuses to start without SECRET_KEY (src/config.ts).
 */
export function resolveSecretKey(config: { SECRET_KEY?: string; DATA_DIR: string; NODE_ENV?: string }): string {
  if (config.SECRET_KEY) return config.SECRET_KEY;
  if (config.NODE_ENV === 'production') throw new Error('SECRET_KEY is required in production');
  const file = path.join(config.DATA_DIR, 'secret.key');
  fs.mkdirSync(config.DATA_DIR, { recursive: true });
  if (!fs.existsSync(file)) {
    // Written aside, then linked into place (fails if present): two processes starting together
    // keep one key, and no reader ever sees a half-written file.
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const key = fs.readFileSync(file, 'utf8').trim();
  if (key.length < 32) throw new Error(`${file} holds a key shorter than 32 characters: delete it to make a new one`);
  return key;
}
