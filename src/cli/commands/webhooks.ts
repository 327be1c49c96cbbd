// `kap webhooks`: a clinic's webhook subscriptions, their delivery log, and redelivery of the ones
// given up on (in sequence order), through the API (admin or coordinator token).
import type { Command } from 'commander';
import { api, run, withApiOptions, type ApiOptions } from './actions';

interface Subscription {
  id: string;
  clinicId: string;
  url: string;
  eventTypes: string[];
  active: boolean;
}
interface Delivery {
  id: string;
  sequence: number | null;
  eventType: string;
  occurredAt: string;
  status: string;
  attempts: number;
  lastError: string | null;
}

export function register(program: Command): void {
  const hooks = program.command('webhooks').description("a clinic's webhook subscriptions: list, deliveries, redeliver");
  withApiOptions(hooks.command('list').description('subscriptions in your clinics').option('--clinic <id>')).action(async (o: ApiOptions & { clinic?: string }) => {
    await run(
      o,
      () => api<{ subscriptions: Subscription[] }>(o, 'GET', `/api/webhooks${o.clinic ? `?clinicId=${encodeURIComponent(o.clinic)}` : ''}`),
      (r) => (r.subscriptions.length ? r.subscriptions.map((s) => `${s.id}  ${s.clinicId}  ${s.active ? 'active' : 'paused'}  ${s.url}  ${s.eventTypes.join(',')}`).join('\n') : 'no webhook subscriptions'),
    );
  });
  withApiOptions(
    hooks
      .command('deliveries <subscriptionId>')
      .description('the delivery log, newest sequence first')
      .option('--status <status>', 'pending, held, delivered, failed or cancelled')
      .option('--limit <n>', 'at most this many', '50'),
  ).action(async (id: string, o: ApiOptions & { status?: string; limit: string }) => {
    const q = new URLSearchParams({ limit: o.limit });
    if (o.status) q.set('status', o.status);
    await run(
      o,
      () => api<{ deliveries: Delivery[] }>(o, 'GET', `/api/webhooks/${encodeURIComponent(id)}/deliveries?${q}`),
      (r) => (r.deliveries.length ? r.deliveries.map((d) => `#${d.sequence ?? '-'}  ${d.status.padEnd(9)} ${d.eventType.padEnd(20)} ${d.occurredAt}  ${d.attempts} attempt(s)  ${d.id}${d.lastError ? `\n      ${d.lastError}` : ''}`).join('\n') : 'no deliveries'),
    );
  });
  withApiOptions(
    hooks
      .command('redeliver <subscriptionId>')
      .description('send failed deliveries again, one after another in sequence order (all of them, or --delivery)')
      .option('--delivery <id...>', 'only these failed deliveries'),
  ).action(async (id: string, o: ApiOptions & { delivery?: string[] }) => {
    await run(
      o,
      () => api<{ redelivered: number; deliveryIds: string[] }>(o, 'POST', `/api/webhooks/${encodeURIComponent(id)}/redeliver`, o.delivery?.length ? { deliveryIds: o.delivery } : {}),
      (r) => (r.redelivered ? `redelivering ${r.redelivered} deliver${r.redelivered === 1 ? 'y' : 'ies'} in sequence order` : 'no failed deliveries to redeliver'),
    );
  });
}
