import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** GET /: the coordinator's overview of open courses and their current steps. */
export function dashboardRoutes(app: FastifyInstance, { db, config }: ApiDeps): void {
  app.get('/', async (_req, reply) => {
    const rows = await db
      .selectFrom('courses')
      .select(['id', 'clinic_id', 'protocol_id', 'status', 'current_step', 'current_step_deadline', 'enrolled_at'])
      .where('ended_at', 'is', null)
      .orderBy('current_step_deadline', (ob) => ob.asc().nullsLast())
      .limit(200)
      .execute();
    const body = rows
      .map((r) => `<tr><td><a href="/api/courses/${esc(r.id)}">${esc(r.id.slice(0, 8))}</a></td><td>${esc(r.clinic_id)}</td><td>${esc(r.protocol_id)}</td><td>${esc(r.status)}</td><td>${esc(r.current_step ?? '')}</td><td>${r.current_step_deadline ? esc(r.current_step_deadline.toISOString()) : ''}</td></tr>`)
      .join('');
    const temporalUi = config.embeddedTemporal ? `<a href="http://127.0.0.1:${config.TEMPORAL_UI_PORT}">Temporal Web UI</a>` : '';
    return reply.type('text/html; charset=utf-8').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>KAP pathways</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem;color:#1d2433}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dde;padding:.4rem;text-align:left}</style></head>
<body><h1>KAP pathways</h1><p>Open courses: ${rows.length}. ${temporalUi}</p>
<table><thead><tr><th>Course</th><th>Clinic</th><th>Protocol</th><th>Status</th><th>Current step</th><th>Deadline</th></tr></thead><tbody>${body}</tbody></table></body></html>`);
  });
}
