// Email templates. Pure functions from (template, data, context) to a message: no I/O, so every
// wording is unit-tested. Client-facing text says only what the client must do and when ("your
// appointment", "your session", "a short check-in"), never why: no drug, diagnosis, instrument or
// score. Staff-facing text names the course and what needs doing, never answers or scores, and links
// to the dashboard (behind login) for the rest.
import crypto from 'node:crypto';
import type { MessageTemplate, NotifyInput } from '../activities/contracts';
import { clientSafeName } from './guard';
import { buildIcs } from './ics';
import type { OutgoingAttachment } from './mailer';

export type Audience = 'client' | 'staff';

export interface RenderContext {
  audience: Audience;
  key: string;
  courseId: string;
  data: NotifyInput['data'];
  clinic: { name: string; timezone: string };
  /** The client's given name (client audience only), for the greeting. */
  recipientName?: string | null;
  /** The course's page in the dashboard (behind login). */
  courseUrl: string;
  /** Domain for UIDs (from MAIL_FROM). */
  domain: string;
  /** Sender address, used as the calendar event's organizer. */
  fromAddress: string;
  /** Fixed time of the message (the outbox row's creation), so a re-render is identical. */
  createdAt: Date;
  /** Makes the signed assessment link (client audience). */
  assessmentLink?: (assessmentId: string, expiresAt: string) => string;
}

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
  attachments: OutgoingAttachment[];
}

/** Templates that may only go to staff. */
export const STAFF_ONLY_TEMPLATES: ReadonlySet<MessageTemplate> = new Set(['safety-alert', 'step-escalation', 'course-notice']);

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Block = string | { link: string; label: string } | { list: string[] };

// ---- data access -------------------------------------------------------------------------------

function str(data: NotifyInput['data'], name: string, required = true): string {
  const v = data[name];
  if (v === undefined || v === null || v === '') {
    if (required) throw new TemplateError(`data.${name} is required`);
    return '';
  }
  return String(v);
}

function num(data: NotifyInput['data'], name: string, fallback: number): number {
  const v = data[name];
  if (v === undefined || v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new TemplateError(`data.${name} must be a number`);
  return n;
}

function time(data: NotifyInput['data'], name: string): Date {
  const d = new Date(str(data, name));
  if (Number.isNaN(d.getTime())) throw new TemplateError(`data.${name} must be an ISO time`);
  return d;
}

function bool(data: NotifyInput['data'], name: string): boolean {
  const v = data[name];
  return v === true || v === 'true' || v === 1;
}

/** Identifiers shown to staff: letters, digits and . _ / : - only (anything else is replaced). */
function code(v: string): string {
  return v.replace(/[^A-Za-z0-9._/:-]/g, '_').slice(0, 120);
}

// ---- formatting --------------------------------------------------------------------------------

// Building an Intl.DateTimeFormat costs about a tenth of a millisecond (every email formats a date or
// two), so each zone's formatters are built once. A zone the runtime does not know falls back to UTC.
// The map is bounded: zones come from clinic rows, and a clinic network has a few dozen.
const FORMATTERS_KEPT = 512;
type ZoneFormatters = { date: Intl.DateTimeFormat; time: Intl.DateTimeFormat };
const formatters = new Map<string, ZoneFormatters>();

function formattersFor(tz: string): ZoneFormatters {
  const kept = formatters.get(tz);
  if (kept) return kept;
  const build = (timeZone: string): ZoneFormatters => ({
    date: new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' }),
    time: new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', minute: '2-digit', timeZoneName: 'short' }),
  });
  let made: ZoneFormatters;
  try {
    made = build(tz);
  } catch {
    made = build('UTC'); // a zone the runtime does not know (RangeError)
  }
  if (formatters.size >= FORMATTERS_KEPT) formatters.clear();
  formatters.set(tz, made);
  return made;
}

export function formatDate(d: Date, tz: string): string {
  return formattersFor(tz).date.format(d);
}

export function formatTime(d: Date, tz: string): string {
  return formattersFor(tz).time.format(d);
}

function formatDuration(minutes: number): string {
  if (minutes % 60 === 0) return `${minutes / 60} hour${minutes === 60 ? '' : 's'}`;
  return `${minutes} minutes`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function compose(blocks: Block[]): { text: string; html: string } {
  const text = blocks
    .map((b) => (typeof b === 'string' ? b : 'link' in b ? `${b.label}:\n${b.link}` : b.list.map((i) => `  - ${i}`).join('\n')))
    .join('\n\n');
  const html = blocks
    .map((b) =>
      typeof b === 'string'
        ? `<p>${escapeHtml(b)}</p>`
        : 'link' in b
          ? `<p><a href="${escapeHtml(b.link)}">${escapeHtml(b.label)}</a></p>`
          : `<ul>${b.list.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`,
    )
    .join('\n');
  return { text: `${text}\n`, html: `<!doctype html>\n<html><body style="font-family: sans-serif; line-height: 1.4">\n${html}\n</body></html>\n` };
}

function greeting(ctx: RenderContext): string {
  const name = ctx.recipientName?.trim();
  return name ? `Hello ${name},` : 'Hello,';
}

const SIGN_OFF_CLIENT = (clinic: string) => `With best wishes,\n${clinic}`;
const URGENT_HELP = 'If you need urgent help at any time, call your local emergency number.';
const DO_NOT_REPLY = 'This mailbox is not monitored. To change or cancel an appointment, please contact the clinic directly.';

/** Stable calendar UID for a session: the same across the 48 h and 24 h reminders of one session. */
export function sessionUid(courseId: string, sessionKey: string, domain: string): string {
  return `${crypto.createHash('sha256').update(`kap-session:${courseId}/${sessionKey}`).digest('hex').slice(0, 32)}@${domain}`;
}

// ---- templates ---------------------------------------------------------------------------------

function appointmentReminder(ctx: RenderContext): RenderedMessage {
  const { data, clinic } = ctx;
  const startsAt = time(data, 'startsAt');
  const sessionKey = str(data, 'sessionKey');
  const kind = str(data, 'kind', false) || 'session';
  const dayBeforeDosing = bool(data, 'dayBeforeDosing');
  const hoursBefore = num(data, 'hoursBefore', 24);
  const durationMinutes = num(data, 'durationMinutes', kind === 'dosing' ? 150 : 60);
  const clinicName = ctx.audience === 'client' ? clientSafeName(clinic.name) : clinic.name;
  const when = `${formatDate(startsAt, clinic.timezone)} at ${formatTime(startsAt, clinic.timezone)}`;
  const ics = buildIcs({
    uid: sessionUid(ctx.courseId, sessionKey, ctx.domain),
    start: startsAt,
    end: new Date(startsAt.getTime() + durationMinutes * 60_000),
    // Nothing clinical: a calendar is shown on lock screens and shared with family.
    summary: ctx.audience === 'client' ? `Appointment - ${clinicName}` : `Course ${code(ctx.courseId).slice(0, 8)}: ${code(kind)} session`,
    location: clinicName,
    organizer: { name: clinicName, email: ctx.fromAddress },
    stamp: ctx.createdAt,
  });
  const attachments = [{ filename: 'appointment.ics', content: ics, contentType: 'text/calendar; charset=utf-8; method=PUBLISH' }];

  if (ctx.audience === 'staff') {
    const { text, html } = compose([
      `Reminder: a ${code(kind)} session of course ${code(ctx.courseId)} is on ${when} (in about ${hoursBefore} hours).`,
      { link: ctx.courseUrl, label: 'Open the course in the dashboard' },
    ]);
    return { subject: `Session reminder: course ${code(ctx.courseId).slice(0, 8)}, ${formatDate(startsAt, clinic.timezone)}`, text, html, attachments };
  }

  const blocks: Block[] = [greeting(ctx), `This is a reminder of your appointment with ${clinicName} on ${when}.`];
  if (dayBeforeDosing) {
    // Field names as the course workflow sends them (protocol safety settings), older names as fallback.
    const fastingHours = num(data, 'fastingFoodHours', num(data, 'fastingHours', 4));
    const liquidsMinutes = Math.round(num(data, 'fastingClearLiquidsHours', num(data, 'liquidsMinutes', 0) / 60) * 60);
    const escortRequired = data.escortRequired === undefined || data.escortRequired === null ? true : bool(data, 'escortRequired');
    const noDrivingHours = num(data, 'noDrivingHours', 0);
    const stayHours = num(data, 'stayHours', 2);
    const noDriving =
      noDrivingHours > 24
        ? `Please do not drive, cycle or operate machinery for ${noDrivingHours} hours after your session.`
        : 'Please do not drive, cycle or operate machinery until the next day.';
    const items = [
      `Do not eat for ${fastingHours} hours before your session.` +
        (liquidsMinutes > 0 ? ` You may drink clear fluids until ${formatDuration(liquidsMinutes)} before.` : ''),
      escortRequired ? `Arrange for an adult to drive you home afterwards. ${noDriving}` : noDriving,
      `Plan to stay with us for about ${stayHours} hours.`,
      'Wear comfortable clothes, and bring a list of any medicines you have started or stopped.',
    ];
    blocks.push('To prepare for your session tomorrow:', { list: items }, 'If you cannot follow these instructions, please contact us before your appointment: we may need to reschedule.');
  }
  blocks.push('The attached calendar file adds the appointment to your calendar.', DO_NOT_REPLY, URGENT_HELP, SIGN_OFF_CLIENT(clinicName));
  const { text, html } = compose(blocks);
  const subject = dayBeforeDosing
    ? `Tomorrow: your appointment at ${formatTime(startsAt, clinic.timezone)} - how to prepare`
    : `Reminder: your appointment on ${formatDate(startsAt, clinic.timezone)}`;
  return { subject, text, html, attachments };
}

function assessmentMessage(ctx: RenderContext, reminder: boolean): RenderedMessage {
  if (ctx.audience !== 'client') throw new TemplateError('assessment invitations and reminders go to the client');
  const { data, clinic } = ctx;
  const assessmentId = str(data, 'assessmentId');
  const expiresAtRaw = str(data, 'expiresAt');
  const expiresAt = time(data, 'expiresAt');
  if (!ctx.assessmentLink) throw new TemplateError('no link maker for assessment links');
  const link = ctx.assessmentLink(assessmentId, expiresAtRaw);
  const clinicName = clientSafeName(clinic.name);
  const until = `${formatDate(expiresAt, clinic.timezone)}, ${formatTime(expiresAt, clinic.timezone)}`;
  const blocks: Block[] = [
    greeting(ctx),
    reminder
      ? 'A short check-in questionnaire from your care team is still waiting for you. It takes a few minutes.'
      : 'Your care team has asked you to fill in a short check-in questionnaire. It takes a few minutes, and your answers help them plan your care.',
    { link, label: 'Open your check-in' },
    `The link is personal to you: please do not forward it. It works once, until ${until}.`,
    'Your answers are read by your care team, but not always straight away. ' + URGENT_HELP,
    DO_NOT_REPLY,
    SIGN_OFF_CLIENT(clinicName),
  ];
  const { text, html } = compose(blocks);
  return { subject: reminder ? 'Reminder: your check-in from your care team' : 'A short check-in from your care team', text, html, attachments: [] };
}

/** Reason codes become a category; the code itself (which could name an answer) stays out of email. */
function safetyCategory(reason: string): string {
  const r = reason.toLowerCase();
  if (/assess|answer|phq|cssrs|c-ssrs|item|questionnaire|scale/.test(r)) return 'A critical answer on a client questionnaire';
  if (/vital|bp|blood|pressure|spo2|pulse|heart/.test(r)) return 'A vital sign outside the protocol limits';
  if (/adverse|event|sae|incident/.test(r)) return 'A reported safety event';
  if (/pre-dose|predose|risk|hold/.test(r)) return 'A pre-session safety check';
  return 'A safety item';
}

function safetyAlert(ctx: RenderContext): RenderedMessage {
  const reason = str(ctx.data, 'reason', false) || str(ctx.data, 'reasonCode', false) || 'safety';
  const { text, html } = compose([
    `${safetyCategory(reason)} in course ${code(ctx.courseId)} needs clinician review.`,
    'The course is on hold for safety until a clinician records a review. Details are in the dashboard only, not in email.',
    { link: ctx.courseUrl, label: 'Review the course in the dashboard' },
    'You receive this because you are a clinician for this clinic.',
  ]);
  return { subject: `Safety review needed: course ${code(ctx.courseId).slice(0, 8)}`, text, html, attachments: [] };
}

function stepEscalation(ctx: RenderContext): RenderedMessage {
  const { data, clinic } = ctx;
  const stepKey = code(str(data, 'stepKey'));
  const level = num(data, 'level', 1);
  const deadlineRaw = str(data, 'deadlineAt', false);
  const deadline = deadlineRaw ? time(data, 'deadlineAt') : null;
  const { text, html } = compose([
    `Step "${stepKey}" of course ${code(ctx.courseId)} is past its deadline` +
      (deadline ? ` (${formatDate(deadline, clinic.timezone)}, ${formatTime(deadline, clinic.timezone)})` : '') +
      `. Escalation level ${level}.`,
    'Please complete it, re-assign it, or extend its deadline.',
    { link: ctx.courseUrl, label: 'Open the course in the dashboard' },
  ]);
  return { subject: `Overdue step ${stepKey} (course ${code(ctx.courseId).slice(0, 8)}, level ${level})`, text, html, attachments: [] };
}

const NOTICE_SUBJECTS: Record<string, string> = {
  'course-completed': 'Course completed',
  'course-ended': 'Course ended',
  'course-withdrawn': 'Client withdrawn from course',
  'rems-form-due': 'Monitoring form due',
  'consent-needed': 'Consent needed',
  'clearance-needed': 'Medical clearance needed',
  'schedule-needed': 'Session to schedule',
  'maintenance-review': 'Maintenance review due',
  'relapse-at-end': 'Relapse signal at the last follow-up: maintenance has ended, review the plan',
  'no-show': 'Client did not attend a session',
  'assessment-missed': 'Check-in not completed',
  'assessment-expired': 'Check-in expired unanswered',
  'assessment-cancelled': 'Check-in cancelled',
};

function courseNotice(ctx: RenderContext): RenderedMessage {
  const subjectKey = code(str(ctx.data, 'subjectKey'));
  const title = NOTICE_SUBJECTS[subjectKey] ?? `Course update (${subjectKey})`;
  const { text, html } = compose([
    `${title}: course ${code(ctx.courseId)}.`,
    { link: ctx.courseUrl, label: 'Open the course in the dashboard' },
  ]);
  return { subject: `${title}: course ${code(ctx.courseId).slice(0, 8)}`, text, html, attachments: [] };
}

export function renderMessage(template: MessageTemplate, ctx: RenderContext): RenderedMessage {
  if (ctx.audience === 'client' && STAFF_ONLY_TEMPLATES.has(template)) {
    throw new TemplateError(`template ${template} is for staff only`);
  }
  switch (template) {
    case 'appointment-reminder':
      return appointmentReminder(ctx);
    case 'assessment-invitation':
      return assessmentMessage(ctx, false);
    case 'assessment-reminder':
      return assessmentMessage(ctx, true);
    case 'safety-alert':
      return safetyAlert(ctx);
    case 'step-escalation':
      return stepEscalation(ctx);
    case 'course-notice':
      return courseNotice(ctx);
    default:
      throw new TemplateError(`unknown template ${String(template)}`);
  }
}
