import type { Client } from '@temporalio/client';
import type { EnrollmentAdmission } from '../client/admission';
import type { Config } from '../config';
import type { Db } from '../db/connect';
import type { Logger } from '../log';
import type { SystemHealthMonitor } from './system-health';

/** What every route needs, injected once when the app is built. */
export interface ApiDeps {
  config: Config;
  db: Db;
  temporal: Client;
  log: Logger;
  /** Courses failing in the system (Temporal); built by buildApp when not given. */
  systemHealth?: SystemHealthMonitor;
  /** Enrollment back-pressure (src/client/admission.ts); built by buildApp from ENROLLMENT_BACKLOG_LIMIT when not given. */
  admission?: EnrollmentAdmission;
}

export type AppDeps = ApiDeps & { systemHealth: SystemHealthMonitor; admission: EnrollmentAdmission };
