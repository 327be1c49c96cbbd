// All activities, built from their dependencies by the worker. Workflows import only the *type*.
import type { Db } from '../db/connect';
import { createCourseRecordActivities } from './course-records';
import { createMailActivities, type MailActivityDeps } from './notify';
import { createProjectionActivities } from './projections';

export interface ActivityDeps {
  db: Db;
  /** Mail transport and settings (notify, audit); omitted in tests = an in-memory mailer. */
  mailer?: MailActivityDeps['mailer'];
  mail?: MailActivityDeps['mail'];
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createProjectionActivities(deps),
    ...createMailActivities(deps),
    ...createCourseRecordActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
