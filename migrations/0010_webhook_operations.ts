// Webhooks an operator can run (issue #20 item 4):
// - a sequence number per subscription on every delivery (`webhook_deliveries.seq`, from
//   `webhook_subscriptions.next_seq`, taken in the transaction that publishes the event), so a receiver
//   can order what arrives out of order during retries and see a gap;
// - a paused subscription's deliveries are `held` (not cancelled, not sent) until it is resumed;
// - more events: `step.completed` (a step done or skipped), `course.ended` (completed, withdrawn,
//   ineligible), `rems.form-due` (a REMS monitoring form is opened, with its 7-day due date) and
//   `rems.form-late` (the unfiled form's step is escalated after its due date);
// - a clinic admin may allow one subscription to target loopback or a private network
//   (`allow_private_target`), where the installation refuses such targets;
// - `redeliveries` counts how often an operator sent a delivery again.
// One function, webhook_publish, writes an event and its deliveries for every trigger; an event no
// subscription of the clinic takes (active or paused) is not recorded at all.
// Never edit this migration once it has run anywhere: add a new numbered file instead.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('webhook_subscriptions').addColumn('next_seq', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('webhook_subscriptions').addColumn('allow_private_target', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
  await db.schema.alterTable('webhook_deliveries').addColumn('seq', 'bigint').execute();
  await db.schema.alterTable('webhook_deliveries').addColumn('redeliveries', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await sql`alter table webhook_deliveries drop constraint if exists webhook_deliveries_status_check`.execute(db);
  await sql`alter table webhook_deliveries add constraint webhook_deliveries_status_check check (status in ('pending', 'held', 'delivered', 'failed', 'cancelled'))`.execute(db);
  // Deliveries made before this migration get their sequence in the order their events happened.
  await sql`
    update webhook_deliveries d set seq = n.rn
    from (select d2.id, row_number() over (partition by d2.subscription_id order by e.occurred_at, d2.created_at, d2.id) as rn
          from webhook_deliveries d2 join webhook_events e on e.id = d2.event_id) n
    where n.id = d.id`.execute(db);
  await sql`update webhook_subscriptions s set next_seq = coalesce((select max(seq) from webhook_deliveries d where d.subscription_id = s.id), 0)`.execute(db);
  await db.schema.createIndex('webhook_deliveries_sub_seq_idx').on('webhook_deliveries').columns(['subscription_id', 'seq']).execute();
  await db.schema.createIndex('webhook_deliveries_failed_idx').on('webhook_deliveries').columns(['clinic_id', 'subscription_id']).where(sql.ref('status'), '=', 'failed').execute();

  // Publishes one event (once per source id) to every subscription of its clinic that takes its type:
  // active ones get a pending delivery, paused ones a held one; each takes the subscription's next
  // sequence number (the row lock on the subscription orders concurrent publishers).
  await sql`
    create function webhook_publish(p_source text, p_type text, p_clinic text, p_course text, p_at timestamptz, p_data jsonb) returns void language plpgsql as $$
    declare
      evt_id text := 'evt_' || md5(p_source);
      s record;
      did text;
      n bigint;
    begin
      -- Nothing is recorded for an event no subscription of the clinic takes (most clinics have none).
      if not exists (select 1 from webhook_subscriptions ws where ws.clinic_id = p_clinic and p_type = any(ws.event_types)) then return; end if;
      insert into webhook_events (id, source_event_id, type, clinic_id, course_id, occurred_at, payload)
      values (evt_id, p_source, p_type, p_clinic, p_course, p_at, jsonb_build_object(
        'id', evt_id,
        'type', p_type,
        'occurredAt', to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'clinicId', p_clinic,
        'courseId', p_course,
        'clientId', (select c.client_id from courses c where c.id = p_course),
        'data', p_data))
      on conflict do nothing;
      if not found then return; end if;
      for s in select ws.id, ws.active from webhook_subscriptions ws where ws.clinic_id = p_clinic and p_type = any(ws.event_types) order by ws.id loop
        insert into webhook_deliveries (id, event_id, subscription_id, clinic_id, status)
        values ('dlv_' || md5(evt_id || '/' || s.id), evt_id, s.id, p_clinic, case when s.active then 'pending' else 'held' end)
        on conflict do nothing
        returning id into did;
        if did is not null then
          update webhook_subscriptions set next_seq = next_seq + 1 where id = s.id returning next_seq into n;
          update webhook_deliveries set seq = n where id = did;
        end if;
      end loop;
    end $$`.execute(db);

  // The timeline trigger of migration 0005, through webhook_publish (same event ids: 'evt_' || md5(timeline row id)).
  await sql`
    create or replace function webhook_outbox_from_course_event() returns trigger language plpgsql as $$
    declare
      evt_type text;
      step record;
      data jsonb;
    begin
      evt_type := case new.type
        when 'step.opened' then 'step.entered'
        when 'step.overdue' then 'step.overdue'
        when 'assessment.completed' then 'assessment.completed'
        when 'assessment.partial' then 'assessment.completed'
        when 'safety-hold.opened' then 'safety.escalation'
        else null end;
      if evt_type is not null then
        data := jsonb_build_object('stepKey', new.step_key);
        if evt_type in ('step.entered', 'step.overdue') then
          select s.kind, s.owner_role, s.deadline_at into step from course_steps s where s.course_id = new.course_id and s.step_key = new.step_key;
          data := data || jsonb_build_object('stepKind', step.kind, 'ownerRole', step.owner_role, 'deadlineAt', coalesce(new.detail->>'deadlineAt', to_char(step.deadline_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
        elsif evt_type = 'assessment.completed' then
          data := data || jsonb_build_object('assessmentId', new.detail->'assessmentId', 'status', split_part(new.type, '.', 2), 'instruments', coalesce(new.detail->'instruments', '[]'::jsonb));
        else
          data := data || jsonb_build_object('holdId', new.detail->'holdId', 'kind', new.detail->'kind', 'level', new.detail->'level');
        end if;
        perform webhook_publish(new.id, evt_type, new.clinic_id, new.course_id, new.at, data);
      end if;
      -- An unfiled REMS monitoring form whose step is escalated after its 7-day due date is late.
      if new.type = 'step.escalated' then
        perform webhook_publish('rems-late:' || rf.id, 'rems.form-late', new.clinic_id, new.course_id, new.at,
          jsonb_build_object('stepKey', new.step_key, 'sessionStepKey', rf.session_step_key, 'dueAt', to_char(rf.due_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
        from course_steps cs join rems_monitoring_forms rf on rf.id = cs.id
        where cs.course_id = new.course_id and cs.step_key = new.step_key and rf.submitted_at is null and rf.due_at <= new.at;
      end if;
      return new;
    end $$`.execute(db);

  // A step done or skipped (once per completion).
  await sql`
    create function webhook_outbox_from_course_step() returns trigger language plpgsql as $$
    begin
      if new.state in ('done', 'skipped') and (tg_op = 'INSERT' or old.state is distinct from new.state) then
        perform webhook_publish('step-completed:' || new.id || ':' || coalesce(to_char(new.completed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), ''), 'step.completed', new.clinic_id, new.course_id, coalesce(new.completed_at, now()),
          jsonb_build_object('stepKey', new.step_key, 'stepKind', new.kind, 'state', new.state, 'outcome', new.outcome, 'ownerRole', new.owner_role));
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger course_steps_webhook_outbox after insert or update of state on course_steps for each row execute function webhook_outbox_from_course_step()`.execute(db);

  // A course ended: completed, withdrawn or ineligible (the status only; a withdrawal's reason is staff's free text and stays out).
  await sql`
    create function webhook_outbox_from_course() returns trigger language plpgsql as $$
    begin
      if new.ended_at is not null and old.ended_at is null then
        perform webhook_publish('course-ended:' || new.id, 'course.ended', new.clinic_id, new.id, new.ended_at,
          jsonb_build_object('status', new.status, 'protocolId', new.protocol_id));
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger courses_webhook_outbox after update of ended_at on courses for each row execute function webhook_outbox_from_course()`.execute(db);

  // A REMS monitoring form opened, with its 7-day due date.
  await sql`
    create function webhook_outbox_from_rems_form() returns trigger language plpgsql as $$
    begin
      perform webhook_publish('rems-due:' || new.id, 'rems.form-due', new.clinic_id, new.course_id, now(),
        jsonb_build_object('stepKey', split_part(new.id, '/', 2), 'sessionStepKey', new.session_step_key, 'dueAt', to_char(new.due_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
      return new;
    end $$`.execute(db);
  await sql`create trigger rems_forms_webhook_outbox after insert on rems_monitoring_forms for each row execute function webhook_outbox_from_rems_form()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists rems_forms_webhook_outbox on rems_monitoring_forms`.execute(db);
  await sql`drop trigger if exists courses_webhook_outbox on courses`.execute(db);
  await sql`drop trigger if exists course_steps_webhook_outbox on course_steps`.execute(db);
  await sql`drop function if exists webhook_outbox_from_rems_form()`.execute(db);
  await sql`drop function if exists webhook_outbox_from_course()`.execute(db);
  await sql`drop function if exists webhook_outbox_from_course_step()`.execute(db);
  // Back to migration 0005's timeline trigger body.
  await sql`
    create or replace function webhook_outbox_from_course_event() returns trigger language plpgsql as $$
    declare
      evt_type text;
      evt_id text;
      step record;
      data jsonb;
    begin
      evt_type := case new.type
        when 'step.opened' then 'step.entered'
        when 'step.overdue' then 'step.overdue'
        when 'assessment.completed' then 'assessment.completed'
        when 'assessment.partial' then 'assessment.completed'
        when 'safety-hold.opened' then 'safety.escalation'
        else null end;
      if evt_type is null then return new; end if;
      evt_id := 'evt_' || md5(new.id);
      data := jsonb_build_object('stepKey', new.step_key);
      if evt_type in ('step.entered', 'step.overdue') then
        select s.kind, s.owner_role, s.deadline_at into step from course_steps s where s.course_id = new.course_id and s.step_key = new.step_key;
        data := data || jsonb_build_object('stepKind', step.kind, 'ownerRole', step.owner_role, 'deadlineAt', coalesce(new.detail->>'deadlineAt', to_char(step.deadline_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
      elsif evt_type = 'assessment.completed' then
        data := data || jsonb_build_object('assessmentId', new.detail->'assessmentId', 'status', split_part(new.type, '.', 2), 'instruments', coalesce(new.detail->'instruments', '[]'::jsonb));
      else
        data := data || jsonb_build_object('holdId', new.detail->'holdId', 'kind', new.detail->'kind', 'level', new.detail->'level');
      end if;
      insert into webhook_events (id, source_event_id, type, clinic_id, course_id, occurred_at, payload)
      values (evt_id, new.id, evt_type, new.clinic_id, new.course_id, new.at, jsonb_build_object(
        'id', evt_id,
        'type', evt_type,
        'occurredAt', to_char(new.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'clinicId', new.clinic_id,
        'courseId', new.course_id,
        'clientId', (select c.client_id from courses c where c.id = new.course_id),
        'data', data))
      on conflict do nothing;
      insert into webhook_deliveries (id, event_id, subscription_id, clinic_id)
      select 'dlv_' || md5(evt_id || '/' || s.id), evt_id, s.id, s.clinic_id
      from webhook_subscriptions s
      where s.clinic_id = new.clinic_id and s.active and evt_type = any(s.event_types)
      on conflict do nothing;
      return new;
    end $$`.execute(db);
  await sql`drop function if exists webhook_publish(text, text, text, text, timestamptz, jsonb)`.execute(db);
  await db.schema.dropIndex('webhook_deliveries_failed_idx').ifExists().execute();
  await db.schema.dropIndex('webhook_deliveries_sub_seq_idx').ifExists().execute();
  await sql`update webhook_deliveries set status = 'cancelled' where status = 'held'`.execute(db);
  await sql`alter table webhook_deliveries drop constraint if exists webhook_deliveries_status_check`.execute(db);
  await sql`alter table webhook_deliveries add constraint webhook_deliveries_status_check check (status in ('pending', 'delivered', 'failed', 'cancelled'))`.execute(db);
  await db.schema.alterTable('webhook_deliveries').dropColumn('redeliveries').execute();
  await db.schema.alterTable('webhook_deliveries').dropColumn('seq').execute();
  await db.schema.alterTable('webhook_subscriptions').dropColumn('allow_private_target').execute();
  await db.schema.alterTable('webhook_subscriptions').dropColumn('next_seq').execute();
}
