import { findForbiddenTerms } from '../../../src/mail/guard';
import { formatDate, formatTime, renderMessage, type RenderContext, sessionUid, TemplateError } from '../../../src/mail/templates';

const base: Omit<RenderContext, 'audience' | 'data'> = {
  key: 'c1/dose-1/s1/reminder-24h',
  courseId: 'c1',
  clinic: { name: 'Riverside Wellness', timezone: 'America/New_York' },
  recipientName: 'Alex',
  courseUrl: 'https://kap.example/clients/cl1',
  domain: 'kap.example',
  fromAddress: 'no-reply@kap.example',
  createdAt: new Date('2026-05-10T12:00:00Z'),
  assessmentLink: (id, exp) => `https://kap.example/a/TOKEN-${id}-${exp.slice(0, 10)}`,
};
const client = (data: RenderContext['data']): RenderContext => ({ ...base, audience: 'client', data });
const staff = (data: RenderContext['data']): RenderContext => ({ ...base, audience: 'staff', data });
const clean = (m: { subject: string; text: string; html: string; attachments: Array<{ content: string | Buffer }> }) =>
  [m.subject, m.text, m.html, ...m.attachments.map((a) => String(a.content))].flatMap(findForbiddenTerms);

describe('templates', () => {
  const dosing = { sessionKey: 'dose-1', startsAt: '2026-05-12T14:00:00Z', kind: 'dosing', hoursBefore: 24, dayBeforeDosing: true, fastingFoodHours: 6, fastingClearLiquidsHours: 2, escortRequired: true, noDrivingHours: 24 };

  test('day-before dosing reminder: fasting, ride home, local time, .ics, nothing clinical', () => {
    const m = renderMessage('appointment-reminder', client(dosing));
    expect(m.subject).toBe('Tomorrow: your appointment at 10:00 AM EDT - how to prepare');
    expect(m.text).toContain('Hello Alex,');
    expect(m.text).toContain('Tuesday, May 12, 2026 at 10:00 AM EDT');
    expect(m.text).toContain('Do not eat for 6 hours before your session. You may drink clear fluids until 2 hours before.');
    expect(m.text).toContain('Arrange for an adult to drive you home afterwards.');
    expect(m.text).not.toMatch(/dosing/i);
    expect(m.attachments).toHaveLength(1);
    const ics = String(m.attachments[0]!.content);
    expect(ics).toContain(`UID:${sessionUid('c1', 'dose-1', 'kap.example')}`);
    expect(ics).toContain('SUMMARY:Appointment - Riverside Wellness');
    expect(ics).toContain('DTSTART:20260512T140000Z');
    expect(clean(m)).toEqual([]);
  });

  test('48 h reminder: no preparation block, same calendar UID as the 24 h one', () => {
    const m = renderMessage('appointment-reminder', client({ ...dosing, hoursBefore: 48, dayBeforeDosing: false }));
    expect(m.subject).toBe('Reminder: your appointment on Tuesday, May 12, 2026');
    expect(m.text).not.toContain('Do not eat');
    const m24 = renderMessage('appointment-reminder', client(dosing));
    const uid = (s: string) => /UID:(.+)\r\n/.exec(s)![1];
    expect(uid(String(m.attachments[0]!.content))).toBe(uid(String(m24.attachments[0]!.content)));
  });

  test('a clinic name naming the drug never reaches the client', () => {
    const m = renderMessage('appointment-reminder', { ...client(dosing), clinic: { name: 'Riverside Ketamine Clinic', timezone: 'UTC' } });
    expect(clean(m)).toEqual([]);
    expect(m.text).toContain('your care team');
  });

  test('assessment invitation carries the signed link and no instrument', () => {
    const m = renderMessage('assessment-invitation', client({ assessmentId: 'c1/a-1', instrumentIds: 'phq9,gad7', expiresAt: '2026-05-15T12:00:00Z' }));
    expect(m.text).toContain('https://kap.example/a/TOKEN-c1/a-1-2026-05-15');
    expect(m.html).toContain('href="https://kap.example/a/TOKEN-c1/a-1-2026-05-15"');
    expect(m.subject).toBe('A short check-in from your care team');
    expect(clean(m)).toEqual([]);
    expect(m.text).not.toMatch(/phq|gad/i);
    const r = renderMessage('assessment-reminder', client({ assessmentId: 'c1/a-1', expiresAt: '2026-05-15T12:00:00Z', reminderNumber: 1 }));
    expect(r.subject).toBe('Reminder: your check-in from your care team');
    expect(clean(r)).toEqual([]);
  });

  test('safety alert: staff only, course id, a category, never the reason code', () => {
    const m = renderMessage('safety-alert', staff({ reason: 'critical-answer', courseId: 'c1' }));
    expect(m.subject).toBe('Safety review needed: course c1');
    expect(m.text).toContain('A critical answer on a client questionnaire in course c1 needs clinician review.');
    expect(m.text).toContain('https://kap.example/clients/cl1');
    expect(() => renderMessage('safety-alert', client({ reason: 'x' }))).toThrow(TemplateError);
  });

  test('step escalation and course notice', () => {
    const e = renderMessage('step-escalation', staff({ stepKey: 'clearance', deadlineAt: '2026-05-12T14:00:00Z', level: 2 }));
    expect(e.subject).toBe('Overdue step clearance (course c1, level 2)');
    const n = renderMessage('course-notice', staff({ subjectKey: 'no-show', courseId: 'c1' }));
    expect(n.subject).toBe('Client did not attend a session: course c1');
    const odd = renderMessage('course-notice', staff({ subjectKey: '<script>', courseId: 'c1' }));
    expect(odd.html).not.toContain('<script>');
  });

  test('missing data is a TemplateError', () => {
    expect(() => renderMessage('appointment-reminder', client({ sessionKey: 'x' }))).toThrow(/startsAt/);
    expect(() => renderMessage('assessment-invitation', client({ assessmentId: 'a' }))).toThrow(/expiresAt/);
  });

  test('dates and times are written in each clinic\'s own zone; a zone the runtime does not know is written in UTC', () => {
    const at = new Date('2026-03-01T03:30:00Z');
    // Formatters are kept per zone: the second zone must not reuse the first's.
    expect(formatDate(at, 'America/Los_Angeles')).toBe('Saturday, February 28, 2026');
    expect(formatTime(at, 'America/Los_Angeles')).toBe('7:30 PM PST');
    expect(formatDate(at, 'Europe/Berlin')).toBe('Sunday, March 1, 2026');
    expect(formatTime(at, 'Europe/Berlin')).toBe('4:30 AM GMT+1');
    expect(formatDate(at, 'America/Los_Angeles')).toBe('Saturday, February 28, 2026');
    expect(formatDate(at, 'Mars/Olympus_Mons')).toBe('Sunday, March 1, 2026');
    expect(formatTime(at, 'Mars/Olympus_Mons')).toBe('3:30 AM UTC');
  });
});
