// Webhooks: a clinic's subscriptions, the events they can receive (a transactional outbox filled by a
// trigger on the course timeline), and one delivery row per (event, subscription) with its log.
//
// Why a trigger: course_events rows are written by the course workflow's projection activity in the
// same transaction as the records they describe. A trigger there turns the four webhook-worthy
// timeline entries into outbox rows atomically, whoever writes them, without the workflow knowing
// about webhooks. The event id comes from the timeline row's deterministic id and inserts are
// ON CONFLICT DO NOTHING upstream, so a retried or replayed projection never makes a second event.
// Subscriptions are matched inside the same transaction: the deliveries an event gets are fixed
// when it happens (a subscription created later does not receive old events).
// Never edit this migration once it has run anywhere: add a new numbered file instead.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhook_subscriptions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('clinic_id', 'text', (c) => c.notNull().references('clinics.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('event_types', sql`text[]`, (c) => c.notNull())
    // The signing secret must be usable to sign, so it cannot be hashed: it is stored sealed with
    // AES-256-GCM under a key derived from SECRET_KEY (src/webhooks/secret-box.ts), and shown to
    // the caller only once, when created or rotated.
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('webhook_subscriptions_clinic_idx').on('webhook_subscriptions').column('clinic_id').execute();

  await db.schema
    .createTable('webhook_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source_event_id', 'text', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('clinic_id', 'text', (c) => c.notNull())
    .addColumn('course_id', 'text')
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    // The JSON body sent to every subscriber: identifiers and codes only, never answers or notes.
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('webhook_events_clinic_idx').on('webhook_events').columns(['clinic_id', 'occurred_at']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) => c.notNull().references('webhook_events.id').onDelete('cascade'))
    .addColumn('subscription_id', 'text', (c) => c.notNull().references('webhook_subscriptions.id').onDelete('cascade'))
    .addColumn('clinic_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'delivered', 'failed', 'cancelled')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('workflow_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('dispatched_at', 'timestamptz')
    .addColumn('first_attempt_at', 'timestamptz')
    .addColumn('last_attempt_at', 'timestamptz')
    .addColumn('delivered_at', 'timestamptz')
    .addUniqueConstraint('webhook_deliveries_event_sub_uq', ['event_id', 'subscription_id'])
    .execute();
  await db.schema.createIndex('webhook_deliveries_sub_idx').on('webhook_deliveries').columns(['subscription_id', 'created_at']).execute();
  await db.schema
    .createIndex('webhook_deliveries_undispatched_idx')
    .on('webhook_deliveries')
    .column('created_at')
    .where(sql.ref('dispatched_at'), 'is', null)
    .execute();

  // Timeline entry -> webhook event type; anything else on the timeline is not published.
  await sql`
    create function webhook_outbox_from_course_event() returns trigger language plpgsql as $$
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
  await sql`
    create trigger course_events_webhook_outbox after insert on course_events
    for each row execute function webhook_outbox_from_course_event()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists course_events_webhook_outbox on course_events`.execute(db);
  await sql`drop function if exists webhook_outbox_from_course_event()`.execute(db);
  await db.schema.dropTable('webhook_deliveries').ifExists().execute();
  await db.schema.dropTable('webhook_events').ifExists().execute();
  await db.schema.dropTable('webhook_subscriptions').ifExists().execute();
}
