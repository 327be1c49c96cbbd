// The chaos run's email checks (chaos/email-checks.ts): each rule flags what it is there to flag.
import { checkEmails, emptyEmailReport, type EmailCheckInput, type OutboxRowForCheck, type Problem } from '../../../chaos/email-checks';

const COURSE = 'c1';
const FORM = `${COURSE}/screening`;

function row(key: string, over: Partial<OutboxRowForCheck> = {}): OutboxRowForCheck {
  return { key, status: 'sent', message_id: `<${key}@kap>`, course_id: COURSE, template: 'course-notice', data: {}, claim_token: null, claimed_until: null, last_error: null, lease_over: false, ...over };
}

/** A consistent world: every row asked for by a history, sent and received once. */
function world(rows: OutboxRowForCheck[], over: Partial<EmailCheckInput> = {}): EmailCheckInput {
  return {
    outbox: rows,
    scheduled: new Set(rows.map((r) => r.key)),
    completed: new Set(rows.filter((r) => r.status === 'sent' || r.status === 'uncertain').map((r) => r.key)),
    sinkCounts: new Map(rows.filter((r) => r.status === 'sent').map((r) => [r.message_id, 1])),
    courseIds: new Set([COURSE]),
    formIds: new Set([FORM]),
    uncertainAudit: new Set(rows.filter((r) => r.status === 'uncertain').map((r) => `email.uncertain:${r.key}`)),
    ...over,
  };
}

function run(input: EmailCheckInput) {
  const r = emptyEmailReport([...input.sinkCounts.values()].reduce((a, b) => a + b, 0));
  const problems: Problem[] = [];
  checkEmails(input, r, problems);
  return { r, kinds: problems.map((p) => p.kind) };
}

const mustBeZero = (r: ReturnType<typeof emptyEmailReport>) => r.missing + r.duplicated + r.unexpected + r.uncertainUnaccounted + r.failedOrBlockedUnexpected + r.orphans;

test('a consistent outbox passes: sent once, an uncertain row delivered once, one recorded with its reason', () => {
  const rows = [row('c1/a'), row(`${FORM}/invitation`, { template: 'assessment-invitation', data: { assessmentId: FORM } }), row('c1/u1', { status: 'uncertain', last_error: 'stopped after the data' }), row('c1/u2', { status: 'uncertain', last_error: 'stopped after the data' })];
  const input = world(rows);
  input.sinkCounts.set('<c1/u1@kap>', 1);
  const { r, kinds } = run(input);
  expect(kinds).toEqual([]);
  expect(mustBeZero(r)).toBe(0);
  expect(r).toMatchObject({ requested: 4, outboxRows: 4, sent: 2, uncertain: 2, uncertainDelivered: 1, uncertainRecorded: 1 });
});

test('an uncertain row received twice, or not received with no reason or no audit entry, is unaccounted', () => {
  const rows = [row('c1/u1', { status: 'uncertain', last_error: 'x' }), row('c1/u2', { status: 'uncertain' }), row('c1/u3', { status: 'uncertain', last_error: 'x' })];
  const input = world(rows);
  input.sinkCounts.set('<c1/u1@kap>', 2);
  input.uncertainAudit.delete('email.uncertain:c1/u3');
  const { r, kinds } = run(input);
  expect(r.uncertainUnaccounted).toBe(3);
  expect(r.duplicated).toBe(1);
  expect(kinds.filter((k) => k === 'email-uncertain-unaccounted')).toHaveLength(3);
});

test('a failed or blocked row counts as unexpected unless the run expected its key', () => {
  const rows = [row('c1/f', { status: 'failed', last_error: 'SMTP 550' }), row('c1/b', { status: 'blocked', last_error: 'clinical detail' })];
  expect(run(world(rows)).r).toMatchObject({ failedOrBlocked: 2, failedOrBlockedUnexpected: 2 });
  expect(run(world(rows, { expectedFailures: [/^c1\/b$/] })).r).toMatchObject({ failedOrBlocked: 2, failedOrBlockedUnexpected: 1 });
});

test('orphans: no course, an assessment with no rows, asked for by no history, a claim left past its lease', () => {
  const rows = [
    row('x/none', { course_id: null }),
    row('gone/a', { course_id: 'gone' }),
    row('c1/other/invitation', { data: { assessmentId: 'c1/other' } }),
    row('c1/stray'),
    row('c1/claimed', { status: 'sending', claim_token: 't', claimed_until: new Date(0), lease_over: true }),
  ];
  const input = world(rows);
  input.scheduled.delete('c1/stray');
  const { r, kinds } = run(input);
  expect(r.orphans).toBe(5);
  expect(kinds.filter((k) => k === 'email-outbox-orphan')).toHaveLength(5);
  // The stale claim is also an email that never settled.
  expect(r.unsettled).toBe(1);
});

test('a claim still inside its lease is unsettled, not an orphan', () => {
  const { r } = run(world([row('c1/claimed', { status: 'sending', claim_token: 't', claimed_until: new Date(Date.now() + 60_000), lease_over: false })]));
  expect(r.orphans).toBe(0);
  expect(r.unsettled).toBe(1);
  expect(r.missing).toBe(1);
});

test('lost and doubled mail: no row for a request, sent but not received, received twice, received with no row', () => {
  const rows = [row('c1/a'), row('c1/b')];
  const input = world(rows);
  input.scheduled.add('c1/never-written');
  input.sinkCounts.delete('<c1/a@kap>');
  input.sinkCounts.set('<c1/b@kap>', 2);
  input.sinkCounts.set('<stranger@kap>', 1);
  const { r } = run(input);
  expect(r.missing).toBe(2);
  expect(r.duplicated).toBe(1);
  expect(r.unexpected).toBe(1);
});
