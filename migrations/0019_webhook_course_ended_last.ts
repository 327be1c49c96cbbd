// A course's end is the last thing that happens to it, also when it shares its instant with other events
// (issue #19's CI run, 2026-12-06). Migration 0018 places a delivery among its transaction's by when its
// event occurred and keeps the order of firing for a tie. A withdrawal the workflow takes in the task
// that opens the first step gives `step.entered` and `course.ended` one time; PostgreSQL fired the
// course row's trigger first and `course.ended` took number 1. Now, at equal times, an event of a course
// goes before that course's `course.ended` (other ties still keep the order of firing).
// Never edit this migration once it has run anywhere: add a new numbered file.
import { type Kysely, sql } from 'kysely';
import { up as migration0018 } from './0018_webhook_sequence_by_occurrence';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function webhook_publish(p_source text, p_type text, p_clinic text, p_course text, p_at timestamptz, p_data jsonb) returns void language plpgsql as $$
    declare
      evt_id text := 'evt_' || md5(p_source);
      s record;
      did text;
      n bigint;
      m bigint;
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
          -- This transaction's deliveries of the subscription (created_at = now(): webhook_deliveries_sub_idx;
          -- xmin: written by this transaction) that come after this one: their event occurred later, or
          -- at the same instant and it is this course's end. It goes before them.
          select min(d.seq) into m
            from webhook_deliveries d join webhook_events e on e.id = d.event_id
            where d.subscription_id = s.id and d.created_at = now() and d.xmin = pg_current_xact_id()::xid
              and d.id <> did and d.seq is not null
              and (e.occurred_at > p_at
                or (e.occurred_at = p_at and e.type = 'course.ended' and p_type <> 'course.ended' and e.course_id = p_course));
          if m is not null then
            update webhook_deliveries d set seq = d.seq + 1
              where d.subscription_id = s.id and d.created_at = now() and d.xmin = pg_current_xact_id()::xid
                and d.id <> did and d.seq >= m;
            n := m;
          end if;
          update webhook_deliveries set seq = n where id = did;
        end if;
      end loop;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Migration 0018's body: ties in the order of firing.
  await migration0018(db);
}
