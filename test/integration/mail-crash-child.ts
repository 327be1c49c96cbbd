// Child process for mail-crash.int.test.ts: runs the notify activity once, in a process the test
// kills with SIGKILL at a chosen moment (a real worker crash: no finally blocks, no cleanup).
// Prints ACCEPTED when the SMTP server has taken the message, then hangs before recording it.
import { createNotifyActivities } from '../../src/activities/notify';
import { createDb } from '../../src/db/connect';
import { createSmtpMailer } from '../../src/mail/mailer';
import { createClientLinks } from '../../src/security/client-links';

async function main(): Promise<void> {
  const db = createDb({ url: process.env.KAP_TEST_DATABASE_URL!, poolMax: 1 });
  const mailer = createSmtpMailer({ url: process.env.CHILD_SMTP_URL!, from: 'Riverside Wellness <no-reply@kap.example>', timeoutSeconds: 30 });
  const links = createClientLinks({ db, secretKey: 'x'.repeat(40), publicUrl: 'https://kap.example' });
  const { notify } = createNotifyActivities({
    db,
    mailer,
    links,
    publicUrl: 'https://kap.example',
    leaseMs: Number(process.env.CHILD_LEASE_MS),
    afterSend: () => {
      process.stdout.write('ACCEPTED\n');
      return new Promise<void>(() => undefined); // hang: the test kills us here
    },
  });
  process.stdout.write('STARTED\n');
  const res = await notify(JSON.parse(process.env.CHILD_INPUT!));
  process.stdout.write(`RESULT ${JSON.stringify(res)}\n`);
  process.exit(0);
}

main().catch((err) => {
  process.stdout.write(`ERROR ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
