// Email outbox (exactly-once sending), single-use client links, the embedded SMTP sink's mailbox,
// and the application's database role for an append-only audit log.
import { type Kysely, sql } from 'kysely';

/** The role the application runs as on a real PostgreSQL server (log in as a member of it). */
export const APP_ROLE = 'kap_app';

export async function up(db: Kysely<any>): Promise<void> {
  // One row per message ever. `key` is the workflow's deterministic idempotency key: a retried or
  // replayed activity finds the row instead of writing (and sending) a second one.
  // No foreign key to courses on purpose: the record of what was sent must outlive any course row.
  await db.schema
    .createTable('email_outbox')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('course_id', 'text')
    .addColumn('clinic_id', 'text', (c) => c.notNull())
    .addColumn('recipient_kind', 'text', (c) => c.notNull().check(sql`recipient_kind in ('client', 'staff', 'role')`))
    .addColumn('recipient_ref', 'text')
    .addColumn('audience', 'text', (c) => c.check(sql`audience in ('client', 'staff')`))
    // Deterministic RFC 5322 Message-ID derived from the key: a resend (if ever) carries the same id.
    .addColumn('message_id', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'sending', 'sent', 'uncertain', 'failed', 'blocked')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    // Claim / lease: one attempt at a time may send; a crashed attempt's lease expires.
    .addColumn('claim_token', 'text')
    .addColumn('claimed_until', 'timestamptz')
    // Set just before the message body is handed to the SMTP server (after connect, EHLO, AUTH):
    // a lease that expired with this set means "may have been delivered" (see src/activities/notify.ts).
    .addColumn('submitted_at', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('to_addresses', 'jsonb')
    .addColumn('subject', 'text')
    .addColumn('provider_message_id', 'text')
    .addColumn('provider_response', 'text')
    .addColumn('last_error', 'text')
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('email_outbox_status_idx').on('email_outbox').columns(['status', 'created_at']).execute();
  await db.schema.createIndex('email_outbox_course_idx').on('email_outbox').columns(['course_id', 'created_at']).execute();

  // Single use of a signed client link, per assessment: the first submission wins, every other link
  // for the same assessment (invitation, reminders) is spent with it.
  await db.schema
    .createTable('client_link_uses')
    .addColumn('nonce', 'text', (c) => c.primaryKey())
    .addColumn('assessment_id', 'text', (c) => c.notNull().unique())
    .addColumn('used_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();

  // The embedded SMTP sink's mailbox (`npm start` without SMTP_URL): what the engine sent, for the dashboard.
  await db.schema
    .createTable('smtp_sink_messages')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('message_id', 'text')
    .addColumn('envelope_from', 'text')
    .addColumn('envelope_to', 'jsonb', (c) => c.notNull())
    .addColumn('subject', 'text')
    .addColumn('text_body', 'text')
    .addColumn('html_body', 'text')
    .addColumn('attachments', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('raw', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('smtp_sink_messages_received_idx').on('smtp_sink_messages').column('received_at').execute();

  await grantAppRole(db);
}

/**
 * The application's role: full data access except on audit_log, where it may only INSERT and SELECT,
 * so that on a real server the application cannot rewrite history even without the trigger
 * (which refuses UPDATE / DELETE / TRUNCATE for every role, owner included).
 *
 * Deployment: run migrations as the schema owner (`npm run migrate`), run the engine as a login
 * role that is a member of kap_app (`create role kap_web login password '...' in role kap_app`).
 * Creating a role needs CREATEROLE: where the migrating role lacks it (a managed database), the
 * block leaves a notice and the grants are skipped; an administrator can run this block later.
 * Roles are per cluster, so a second database on the same server reuses the existing role.
 */
async function grantAppRole(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `do $$
begin
  if not exists (select 1 from pg_roles where rolname = '${APP_ROLE}') then
    create role ${APP_ROLE} nologin;
  end if;
  execute format('grant usage on schema %I to ${APP_ROLE}', current_schema());
  execute format('grant select, insert, update, delete on all tables in schema %I to ${APP_ROLE}', current_schema());
  execute format('grant usage, select on all sequences in schema %I to ${APP_ROLE}', current_schema());
  -- Tables made by later migrations (run by this same owner) get the same rights.
  execute format('alter default privileges in schema %I grant select, insert, update, delete on tables to ${APP_ROLE}', current_schema());
  execute format('alter default privileges in schema %I grant usage, select on sequences to ${APP_ROLE}', current_schema());
  -- The audit log: append and read only.
  revoke update, delete, truncate on audit_log from ${APP_ROLE};
exception when insufficient_privilege then
  raise notice 'kap: role ${APP_ROLE} not set up (%); run migration 0003''s grant block as an administrator', sqlerrm;
end $$`,
    )
    .execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `do $$
begin
  if exists (select 1 from pg_roles where rolname = '${APP_ROLE}') then
    execute format('alter default privileges in schema %I revoke all on tables from ${APP_ROLE}', current_schema());
    execute format('alter default privileges in schema %I revoke all on sequences from ${APP_ROLE}', current_schema());
    execute format('revoke all on all tables in schema %I from ${APP_ROLE}', current_schema());
    execute format('revoke all on all sequences in schema %I from ${APP_ROLE}', current_schema());
    execute format('revoke usage on schema %I from ${APP_ROLE}', current_schema());
  end if;
exception when insufficient_privilege then
  raise notice 'kap: could not revoke ${APP_ROLE} grants (%)', sqlerrm;
end $$`,
    )
    .execute(db);
  await db.schema.dropTable('smtp_sink_messages').execute();
  await db.schema.dropTable('client_link_uses').execute();
  await db.schema.dropTable('email_outbox').execute();
}
