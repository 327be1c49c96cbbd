// `rems.form-late` at the REMS form's due date (issue #20): migration 0010 published it when the unfiled
// form's step was escalated after the due date, which is a day or more after it (escalations follow the
// step's 5-day deadline, not the program's 7 days) and never when every escalation falls before it. The
// course workflow now wakes at the due date and records `rems-form.late` on the timeline; this trigger
// publishes the webhook from that entry. Both paths use the same source id ('rems-late:' || form id), so
// a form is late once whichever comes first (courses projected before this kept the escalation path).
// Never edit this migration once it has run anywhere: add a new numbered file.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function webhook_outbox_rems_form_late() returns trigger language plpgsql as $$
    begin
      perform webhook_publish('rems-late:' || rf.id, 'rems.form-late', new.clinic_id, new.course_id, new.at,
        jsonb_build_object('stepKey', new.step_key, 'sessionStepKey', rf.session_step_key, 'dueAt', to_char(rf.due_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
      from course_steps cs join rems_monitoring_forms rf on rf.id = cs.id
      where cs.course_id = new.course_id and cs.step_key = new.step_key and rf.submitted_at is null;
      return new;
    end $$`.execute(db);
  await sql`create trigger course_events_rems_form_late after insert on course_events for each row when (new.type = 'rems-form.late') execute function webhook_outbox_rems_form_late()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists course_events_rems_form_late on course_events`.execute(db);
  await sql`drop function if exists webhook_outbox_rems_form_late()`.execute(db);
}
