// Mail for a running engine, from config: SMTP_URL when set; otherwise the embedded SMTP sink on
// loopback (SMTP_SINK_PORT), whose messages the dashboard lists. One transport, created here, injected
// into the activities by the worker.
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
  /** Claim lease of the notify activity, ms (default 2 minutes). */
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

export async function startMail(config: Config, db: Db, log: Logger): Promise<MailRuntime> {
  let sink: SmtpSink | undefined;
  let url = config.SMTP_URL;
  if (!url) {
    sink = await startSmtpSink({ db, port: config.SMTP_SINK_PORT, log: log.child({ component: 'smtp-sink' }) });
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
