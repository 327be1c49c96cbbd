// All activities, built from their dependencies by the worker. Workflows import only the *type*.
import type { Db } from '../db/connect';
import { createCourseRecordActivities } from './course-records';
import { FIRST_ATTEMPT_MS, withFirstAttempts } from './first-attempts';
import { createMailActivities, type MailActivityDeps } from './notify';
import { createProjectionActivities } from './projections';
import { createWebhookActivities, withWebhookDispatch } from '../webhooks/activities';

export interface ActivityDeps {
  db: Db;
  /** Mail transport and settings (notify, audit); omitted in tests = an in-memory mailer. */
  mailer?: MailActivityDeps['mailer'];
  mail?: MailActivityDeps['mail'];
  /** The installation's SECRET_KEY (opens webhook signing secrets); defaults to the mail settings' key. */
  secretKey?: string;
  /** Webhook deliveries to loopback / private addresses: refused unless 'allow' (src/webhooks/target-guard.ts). */
  webhookPrivateTargets?: 'allow' | 'refuse';
  /** Seconds after its first attempt a webhook delivery is given up (WEBHOOK_GIVE_UP_SECONDS); unset = its attempts alone. */
  webhookGiveUpSeconds?: number;
  /** The invitation's local first attempts at once per process (src/activities/notify.ts; default 2). */
  localAttemptsAtOnce?: number;
}

export function createActivities(deps: ActivityDeps) {
  const projections = createProjectionActivities(deps);
  const mail = createMailActivities(deps);
  return {
    ...projections,
    // Starts webhook deliveries for the timeline rows each projection committed (src/webhooks), then
    // the first attempts of the invitations the workflow hands it (src/activities/first-attempts.ts).
    projectCourse: withFirstAttempts(withWebhookDispatch(deps.db, projections.projectCourse), mail.notify, FIRST_ATTEMPT_MS, deps.mail?.log),
    ...createWebhookActivities({ db: deps.db, secretKey: deps.secretKey ?? deps.mail?.secretKey, privateTargets: deps.webhookPrivateTargets ?? 'refuse', ...(deps.webhookGiveUpSeconds ? { giveUpAfterMs: deps.webhookGiveUpSeconds * 1000 } : {}) }),
    ...mail,
    ...createCourseRecordActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
