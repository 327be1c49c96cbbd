// A subscription's sequence numbers in the order the events happened, also when one statement publishes
// several (issue #19's CI run, 2026-12-04). Migration 0010 numbers a delivery when its trigger fires. A
// course's projection is one statement that may insert timeline rows and update the course row together
// (a withdrawal that arrives before the enrollment's first step was projected); PostgreSQL runs a
// statement's data-modifying parts in an order of its own, so `course.ended` could take number 1 and the
// `step.entered` that happened before it number 2. Now a delivery takes its place among the deliveries
// its transaction made for the subscription by when its event occurred (ties keep the order of firing).
// Those deliveries are one contiguous block: the subscription's row lock, taken at the first number, is
// held until commit, and nothing outside the transaction has seen them.
// Never edit this migration once it has run anywhere: add a new numbered file.
import { type Kysely, sql } from 'kysely';

/**
 * webhook_publish as migration 0010 defined it, with (`byOccurrence`) or without the placing of a
 * delivery among its transaction's by when its event occurred: `up` and `down` differ only there.
 */
function webhookPublish(byOccurrence: boolean) {
  const place = byOccurrence
    ? `
          -- This transaction's deliveries of the subscription (created_at = now(): webhook_deliveries_sub_idx;
          -- xmin: written by this transaction) whose event occurred after this one: it goes before them.
          select min(d.seq) into m
            from webhook_deliveries d join webhook_events e on e.id = d.event_id
            where d.subscription_id = s.id and d.created_at = now() and d.xmin = pg_current_xact_id()::xid
              and d.id <> did and d.seq is not null and e.occurred_at > p_at;
          if m is not null then
            update webhook_deliveries d set seq = d.seq + 1
              where d.subscription_id = s.id and d.created_at = now() and d.xmin = pg_current_xact_id()::xid
                and d.id <> did and d.seq >= m;
            n := m;
          end if;`
    : '';
  return sql.raw(`
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
          update webhook_subscriptions set next_seq = next_seq + 1 where id = s.id returning next_seq into n;${place}
          update webhook_deliveries set seq = n where id = did;
        end if;
      end loop;
    end $$`);
}

export async function up(db: Kysely<any>): Promise<void> {
  await webhookPublish(true).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Migration 0010's body: numbered in the order the triggers fire.
  await webhookPublish(false).execute(db);
}
