// Server-rendered HTML without a build step: an escaping tagged template and the dashboard layout.
import type { Principal } from '../auth/roles';

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);

function render(v: unknown): string {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}

/** Interpolations are escaped unless they are SafeHtml (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

export const raw = (s: string) => new SafeHtml(s);

export function fmtAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '';
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

/** An instant as `2026-12-01 09:30 EST` in the zone `tz` (an IANA name the runtime knows). */
export function clinicTimeText(d: Date, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }).formatToParts(d);
  const get = (type: string) => parts.find((x) => x.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${get('timeZoneName')}`;
}

/** A time as `2026-12-01 14:30 UTC`, or in a clinic's zone (`timeZone`, e.g. `2026-12-01 09:30 EST`). */
export function fmtTime(iso: string | Date | null | undefined, timeZone?: string): SafeHtml {
  if (!iso) return html``;
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  const text = timeZone && timeZone !== 'UTC' ? clinicTimeText(d, timeZone) : d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  return html`<time datetime="${d.toISOString()}">${text}</time>`;
}

const NAV: Array<{ href: string; label: string; roles?: string[] }> = [
  { href: '/', label: 'Stuck board' },
  { href: '/courses', label: 'Courses' },
  { href: '/safety', label: 'Safety queue' },
  { href: '/assessments', label: 'Assessments' },
  { href: '/clients', label: 'Clients' },
  { href: '/outcomes', label: 'Outcomes', roles: ['admin', 'coordinator', 'prescriber'] },
  { href: '/protocols', label: 'Protocols' },
  { href: '/outbox', label: 'Outbox', roles: ['admin', 'coordinator'] },
  { href: '/staff', label: 'Staff', roles: ['admin'] },
  { href: '/audit', label: 'Audit log', roles: ['admin'] },
];

export interface PageOptions {
  title: string;
  principal?: Principal | null;
  active?: string;
  flash?: { kind: 'ok' | 'error'; text: string } | null;
  /** Extra info in the footer (e.g. link to the Temporal UI). */
  footer?: SafeHtml;
}

export function page(opts: PageOptions, body: SafeHtml): string {
  const p = opts.principal;
  const nav = p
    ? html`<nav aria-label="Main"><ul>${NAV.filter((n) => !n.roles || n.roles.includes(p.role)).map(
        (n) => html`<li><a href="${n.href}"${n.href === opts.active ? raw(' aria-current="page"') : ''}>${n.label}</a></li>`,
      )}</ul>
      <form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${p.csrfToken ?? ''}"><a href="/account" title="Your account: change your password">${p.displayName} (${p.role})</a> <button type="submit">Log out</button></form></nav>`
    : html``;
  const flash = opts.flash ? html`<div class="flash ${opts.flash.kind}" role="${opts.flash.kind === 'error' ? 'alert' : 'status'}">${opts.flash.text}</div>` : html``;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${opts.title} · KAP pathways</title><link rel="stylesheet" href="/assets/dashboard.css"><script src="/assets/dashboard.js" defer></script></head>
<body><a class="skip" href="#main">Skip to content</a><header><a class="brand" href="/">KAP pathways</a>${nav}</header>
<main id="main">${flash}<h1>${opts.title}</h1>${body}</main>${opts.footer ? html`<footer>${opts.footer}</footer>` : ''}</body></html>`.value;
}

/** A hidden CSRF field for a dashboard form. */
export const csrfField = (p: Principal | null | undefined) => html`<input type="hidden" name="_csrf" value="${p?.csrfToken ?? ''}">`;
