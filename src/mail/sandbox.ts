// The mail of a rehearsal's sandbox clinic never leaves the machine (issue #21): the notify activity
// asks `mailerForClinic` for each message, and a sandbox clinic's message is composed exactly as for
// SMTP and stored in the embedded sink's table (smtp_sink_messages), where the dashboard's outbox and
// the rehearsal's synthetic clients read it. Every other clinic's mail goes to the configured mailer.
import type { Db } from '../db/connect';
import { composeRaw, type Mailer } from './mailer';
import { storeMessage } from './sink';

/** A mailer that stores every message in smtp_sink_messages and never opens a socket. */
export function createSandboxMailer(db: Db, from: string): Mailer {
  return {
    from,
    async send(mail, hooks) {
      await hooks?.beforeData?.();
      const raw = await composeRaw(from, mail);
      const id = await storeMessage(db, raw, from, mail.to);
      return { accepted: [...mail.to], rejected: [], response: `250 sandbox: stored as sink-${id}`, providerMessageId: `sink-${id}` };
    },
    close() {},
  };
}

/** Whether the clinic is a rehearsal sandbox (a clinic never becomes one, nor stops being one: cached). */
export function sandboxLookup(db: Db): (clinicId: string | null) => Promise<boolean> {
  const known = new Map<string, boolean>();
  return async (clinicId) => {
    if (!clinicId) return false;
    const hit = known.get(clinicId);
    if (hit !== undefined) return hit;
    const row = await db.selectFrom('sandbox_clinics').select('clinic_id').where('clinic_id', '=', clinicId).executeTakeFirst();
    const is = row !== undefined;
    // A sandbox clinic is created with its sandbox row in one transaction: the answer never changes.
    known.set(clinicId, is);
    return is;
  };
}
