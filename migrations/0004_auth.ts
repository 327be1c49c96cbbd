// Authentication: staff API tokens, dashboard sessions, and a password for staff who log in.
// Secrets are never stored: tokens and session ids are kept as SHA-256 hashes (they are long random
// values, so a plain hash is enough), passwords as scrypt hashes with a per-password salt.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('staff').addColumn('password_hash', 'text').execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'coordinator', 'prescriber', 'therapist')`))
    // null = every clinic (an organisation-wide token); otherwise the one clinic it may touch.
    .addColumn('clinic_id', 'text', (c) => c.references('clinics.id').onDelete('cascade'))
    // The staff member the token acts for, when it was made for a person rather than a system.
    .addColumn('staff_id', 'text', (c) => c.references('staff.id').onDelete('cascade'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('dashboard_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('staff_id', 'text', (c) => c.notNull().references('staff.id').onDelete('cascade'))
    // Synchronizer token for the dashboard's forms (CSRF), one per session.
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dashboard_sessions_staff_idx').on('dashboard_sessions').column('staff_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('dashboard_sessions').execute();
  await db.schema.dropTable('api_tokens').execute();
  await db.schema.alterTable('staff').dropColumn('password_hash').execute();
}
