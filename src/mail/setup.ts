// Mail for a running engine, from config: SMTP_URL when set; otherwise, for `npm start` alone (the
// whole engine in one process, a development convenience), the embedded SMTP sink on loopback
// (SMTP_SINK_PORT), whose messages the dashboard lists. A worker of the split topology (`npm run
// worker`) never starts a sink of its own: several run on one machine or behind one mail relay, and
// each would take the same port. One transport, created here, injected into the activities by the worker.
import type { Config } from '../config';
import type { Db } from '../db/connect';
import type { Logger } from '../log';
import { resolveSecretKey } from '../security/client-links';
import { createSmtpMailer, type Mailer } from './mailer';
import { type SmtpSink, startSmtpSink } from './sink';

/** What the notify activity needs besides the database (see ActivityDeps in src/activities). */
export interface MailSettings {
  /** Base URL of client links (`/a/<token>`) and dashboard links. */
  publicUrl: string;
  /** Signs client links (SECRET_KEY, or DATA_DIR/secret.key in development). */
  secretKey: string;
  /** Claim lease of the notify activity, ms (DEFAULT_LEASE_MS in src/activities/notify.ts). */
  leaseMs?: number;
  log?: Logger;
  /** Test seam: runs after the SMTP server accepted a message, before the outbox records it. */
  afterSend?: (key: string) => Promise<void> | void;
}

export interface MailRuntime {
  mailer: Mailer;
  settings: MailSettings;
  sink?: SmtpSink;
  stop(): Promise<void>;
}

/** Which process asks: `npm start` (everything in one process) or a worker of the split topology. */
export type MailProcess = 'all-in-one' | 'worker';

/** Where this process's email goes: the relay at SMTP_URL, or the embedded sink (`npm start` only). */
export type MailPlan = { kind: 'relay'; url: string } | { kind: 'sink'; port: number };

export class MailConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MailConfigError';
  }
}

/** Decides, from config alone, whether this process starts the embedded SMTP sink; throws when a worker has no SMTP_URL. */
export function planMail(config: Pick<Config, 'SMTP_URL' | 'SMTP_SINK_PORT'>, who: MailProcess): MailPlan {
  if (config.SMTP_URL) return { kind: 'relay', url: config.SMTP_URL };
  if (who === 'worker') {
    throw new MailConfigError('SMTP_URL: required by `npm run worker` (the embedded mail sink is `npm start`\'s alone: workers share one mail relay)');
  }
  return { kind: 'sink', port: config.SMTP_SINK_PORT };
}

export async function startMail(config: Config, db: Db, log: Logger, who: MailProcess): Promise<MailRuntime> {
  const plan = planMail(config, who);
  let sink: SmtpSink | undefined;
  let url: string;
  if (plan.kind === 'relay') url = plan.url;
  else {
    sink = await startSmtpSink({ db, port: plan.port, log: log.child({ component: 'smtp-sink' }) });
    url = sink.url;
    log.info({ port: sink.port }, 'embedded SMTP sink started (SMTP_URL unset): email stays on this machine');
  }
  const mailer = createSmtpMailer({ url, from: config.MAIL_FROM });
  return {
    mailer,
    sink,
    settings: { publicUrl: config.publicUrl, secretKey: resolveSecretKey(config), log: log.child({ component: 'mail' }) },
    async stop() {
      mailer.close();
      await sink?.stop();
    },
  };
}
