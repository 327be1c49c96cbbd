// The ordered list of migrations. Add a file `NNNN_name.ts` and list it here; never edit one that ran.
import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_foundation';
import * as m0002 from './0002_course_records';
import * as m0003 from './0003_mail_audit';
import * as m0004 from './0004_auth';
import * as m0005 from './0005_webhooks';
import * as m0006 from './0006_perf';
import * as m0007 from './0007_token_actor';
import * as m0008 from './0008_protocol_store';
import * as m0009 from './0009_worklist';
import * as m0010 from './0010_webhook_operations';
import * as m0011 from './0011_protocol_rehearsals';
import * as m0012 from './0012_rems_form_fields';
import * as m0013 from './0013_clinic_phone';
import * as m0015 from './0015_fhir_export_jobs';
import * as m0016 from './0016_rems_form_late_at_due';
import * as m0017 from './0017_enrollment_admission';
import * as m0018 from './0018_webhook_sequence_by_occurrence';
import * as m0019 from './0019_webhook_course_ended_last';
import * as m0020 from './0020_email_outbox_by_template';

export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_course_records': m0002,
  '0003_mail_audit': m0003,
  '0004_auth': m0004,
  '0005_webhooks': m0005,
  '0006_perf': m0006,
  '0007_token_actor': m0007,
  '0008_protocol_store': m0008,
  '0009_worklist': m0009,
  '0010_webhook_operations': m0010,
  '0011_protocol_rehearsals': m0011,
  '0012_rems_form_fields': m0012,
  '0013_clinic_phone': m0013,
  '0015_fhir_export_jobs': m0015,
  '0016_rems_form_late_at_due': m0016,
  '0017_enrollment_admission': m0017,
  '0018_webhook_sequence_by_occurrence': m0018,
  '0019_webhook_course_ended_last': m0019,
  '0020_email_outbox_by_template': m0020,
};
