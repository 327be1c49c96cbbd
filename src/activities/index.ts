// All activities, built from their dependencies by the worker. Workflows import only the *type*.
import type { Db } from '../db/connect';
import { createCourseRecordActivities } from './course-records';
import { createProjectionActivities } from './projections';

export interface ActivityDeps {
  db: Db;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createProjectionActivities(deps),
    ...createCourseRecordActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
