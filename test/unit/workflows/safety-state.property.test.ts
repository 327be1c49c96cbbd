// Property: the safety state the clinic reads (safety_events rows the workflow projected, open = resolved_at
// null) is exactly the workflow's own `state.holds`, after every step of random seeded sequences of
// pre-dose checks (hold / proceed), critical answers, adverse events, reviews, pauses, withdrawals and
// endings. Plus: every suicide-risk signal is either still open or closed by a clinician's review, and
// when a course ends only suicide-risk holds stay open. On the machine class alone (no Temporal): fast.
import { getProtocol } from '../../../src/domain';
import { HARD_STOPS, REVIEW_ITEMS } from '../../../src/domain/rules/eligibility';
import { mulberry32 } from '../../../src/prng';
import { CourseMachine, Rejection, isSuicideRiskHold } from '../../../src/workflows/course-machine';
import type { CourseActionInputs, CourseActionName } from '../../../src/workflows/messages';

const H = 3_600_000;
const T0 = Date.parse('2026-01-05T09:00:00Z');
const NO = (o: Record<string, string>) => Object.fromEntries(Object.keys(o).map((k) => [k, false]));
const CHECKLIST = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };
const CHECK = { hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative' as const };

interface Row {
  kind: string;
  resolvedAt: string | null;
  reason: string;
  resolution?: string;
  suicideRisk: boolean;
}

/** The client answers the screening assessment (the baseline C-SSRS and PHQ-9 a dose needs). */
function answerBaseline(m: CourseMachine, now: number): void {
  m.onAssessmentFinished(
    {
      assessmentId: `${m.state.courseId}/screening`,
      status: 'completed',
      results: [
        { instrumentId: 'phq9', status: 'completed', total: 4, band: 'minimal', critical: false, phq9Item9: 0 },
        { instrumentId: 'gad7', status: 'completed', total: 3, band: 'minimal', critical: false },
        { instrumentId: 'pcl5', status: 'completed', total: 10, band: 'below-cutoff', critical: false },
        { instrumentId: 'cssrs', status: 'completed', total: 0, band: 'none', critical: false, cssrsRisk: 'none' },
      ],
      at: now,
    },
    now,
  );
}

/** One course driven by a seeded random sequence; checks the property after every step. */
function drive(seed: number, steps: number): { ops: string[]; maxOpen: number; closedBy: Record<string, number> } {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const protocol = getProtocol('kap-office', 1)!;
  const courseId = `c${seed}`;
  let now = T0;
  let m = CourseMachine.create(protocol, { courseId, clientId: `k${seed}`, clinicId: 'x1', timeScale: 1 }, now);
  const rows = new Map<string, Row>();
  const signals = new Set<string>(); // suicide-risk hold ids ever opened
  const ops: string[] = [];
  let maxOpen = 0;
  const closedBy: Record<string, number> = {};

  const flush = () => {
    const out = m.takeOutput();
    for (const r of out.projection?.records ?? []) {
      if (r.table !== 'safety-event') continue;
      const d = r.detail as { reason: string; resolution?: string; suicideRisk: boolean };
      rows.set(r.id, { kind: r.kind, resolvedAt: r.resolvedAt, reason: d.reason, resolution: d.resolution, suicideRisk: d.suicideRisk });
      if (r.resolvedAt && d.resolution) closedBy[d.resolution.replace(/\(.*\)/, '').trim()] = (closedBy[d.resolution.replace(/\(.*\)/, '').trim()] ?? 0) + 1;
    }
  };
  const check = (op: string) => {
    const projected = [...rows].filter(([, r]) => r.resolvedAt === null).map(([id, r]) => ({ id, kind: r.kind, reason: r.reason }));
    const held = m.state.holds.map((h) => ({ id: h.id, kind: h.kind, reason: h.reason }));
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect({ seed, op, open: projected.sort(byId) }).toEqual({ seed, op, open: held.sort(byId) });
    expect(m.view(now).safetyHolds.map((h) => h.id).sort()).toEqual(held.map((h) => h.id));
    if (m.finished) for (const h of m.state.holds) expect({ seed, op, id: h.id, suicideRisk: isSuicideRiskHold(h) }).toEqual({ seed, op, id: h.id, suicideRisk: true });
    for (const id of signals) {
      const r = rows.get(id)!;
      // Only a clinician's review closes a suicide-risk item.
      if (r.resolvedAt !== null) expect({ seed, id, resolution: r.resolution }).toEqual({ seed, id, resolution: expect.stringMatching(/^clinician review: (release|withdraw)$/) });
    }
    for (const h of m.state.holds) if (isSuicideRiskHold(h)) signals.add(h.id);
    for (const [id, r] of rows) if (r.suicideRisk) signals.add(id);
    maxOpen = Math.max(maxOpen, held.length);
  };
  const act = <K extends CourseActionName>(name: K, input: CourseActionInputs[K]): boolean => {
    try {
      m.apply(name, { ...input, actor: { staffId: 'st-1', role: 'prescriber', label: 'Dr P' } } as CourseActionInputs[K], now);
      return true;
    } catch (err) {
      if (err instanceof Rejection) return false;
      throw err;
    }
  };
  const dosingStep = () => m.view(now).steps.find((s) => s.kind === 'dosing' && s.status === 'open');
  const openOf = (kind: string) => m.view(now).steps.find((s) => s.kind === kind && s.status === 'open');

  // Intake: the screening's baseline answered, screening (sometimes with a suicide-risk signal first,
  // sometimes ineligible), clearance, consent, preparation.
  answerBaseline(m, now);
  if (rnd() < 0.15) m.onAssessmentCritical({ assessmentId: `${courseId}/screening`, level: 'high', codes: ['cssrs-high'], summary: 'C-SSRS screener: high risk; C-SSRS items answered yes: 1, 2, 3, 4', at: now }, now);
  flush();
  check('intake');
  // Sometimes staff answer "active suicidal ideation with intent" yes: the course ends ineligible, or
  // a prescriber overrides it and the course goes on. Either way a high suicide-risk item opens.
  const intent = rnd();
  const ineligible = intent < 0.1;
  const overridden = !ineligible && intent < 0.2;
  // A suicide-risk item already open (the client's own screening answers) is the same episode: the
  // clinician's finding does not open a second one.
  const riskAlreadyOpen = m.state.holds.some((h) => h.suicideRisk);
  act('screening', {
    hardStops: { ...NO(HARD_STOPS), ...(ineligible || overridden ? { 'suicidal-ideation-with-intent': true } : {}) },
    reviewItems: NO(REVIEW_ITEMS),
    ...(overridden ? { overrides: [{ hardStop: 'suicidal-ideation-with-intent', reason: 'passive thoughts only on review; safety plan in place' }] } : {}),
  } as never);
  if (ineligible || overridden) {
    flush();
    const item = [...rows].find(([id]) => id === `${courseId}/screening/screening-risk-suicidal-ideation-with-intent`);
    if (riskAlreadyOpen) {
      expect({ seed, item: item?.[1] }).toEqual({ seed, item: undefined });
      expect({ seed, open: [...rows.values()].some((r) => r.resolvedAt === null && r.suicideRisk === true) }).toEqual({ seed, open: true });
    } else {
      expect({ seed, item: item?.[1] }).toEqual({ seed, item: expect.objectContaining({ kind: 'screening-risk', resolvedAt: null, suicideRisk: true, reason: expect.stringContaining('Screening: active suicidal ideation with intent') }) });
    }
    expect(m.state.status).toBe(ineligible ? 'ineligible' : 'active');
  }
  act('clearance', { decision: 'approved', reason: 'fit' });
  act('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  for (const n of [1, 2, 3]) act('session-complete', { stepKey: `prep-${n}` });
  flush();
  check('screening');

  for (let i = 0; i < steps; i++) {
    now += Math.floor(rnd() * 6 * H) + 60_000;
    m.tick(now);
    const r = rnd();
    let op: string;
    const dose = dosingStep();
    if (r < 0.3 && dose) {
      const high = rnd() < 0.5;
      const typedRisk = rnd() < 0.08 ? { cssrsRisk: 'high' } : {};
      op = `pre-dose-check ${dose.id} ${high ? '165/102' : '135/85'}${'cssrsRisk' in typedRisk ? ' c-ssrs high' : ''}`;
      if (dose.session?.status === 'unscheduled' || dose.session?.status === 'no-show') act('schedule', { stepKey: dose.id, startsInHours: 1 });
      // The client answers the session's PHQ-9 and C-SSRS before the visit (most of the time).
      const asked = dose.assessmentId ? m.state.assessments[dose.assessmentId] : undefined;
      if (asked?.status === 'pending' && rnd() < 0.8) {
        m.onAssessmentFinished({ assessmentId: asked.id, status: 'completed', results: asked.instruments.map((instrumentId) => ({ instrumentId, status: 'completed' as const, total: 2, band: 'minimal', critical: false, ...(instrumentId === 'phq9' ? { phq9Item9: 0 } : {}), ...(instrumentId === 'cssrs' ? { cssrsRisk: 'none' as const } : {}) })), at: now }, now);
      }
      act('pre-dose-check', { stepKey: dose.id, ...CHECK, bloodPressure: high ? { systolic: 165, diastolic: 102 } : { systolic: 135, diastolic: 85 }, ...typedRisk } as never);
    } else if (r < 0.42) {
      op = 'critical answer';
      if (act('send-assessment', { instruments: ['phq9'], reason: 'check-in' })) {
        const id = Object.keys(m.state.assessments).at(-1)!;
        flush();
        m.onAssessmentCritical({ assessmentId: id, level: pick(['moderate', 'high'] as const), codes: ['phq9-item9-positive'], summary: `PHQ-9 item 9 = ${pick([1, 2, 3])} (thoughts of death or self-harm)`, at: now }, now);
      }
    } else if (r < 0.5) {
      const category = pick(['hypertension', 'psychiatric', 'nausea-vomiting'] as const);
      const severity = pick(['mild', 'severe'] as const);
      op = `adverse event ${category} ${severity}`;
      act('adverse-event', { category, severity, serious: severity === 'severe', description: 'observed in clinic' });
    } else if (r < 0.64) {
      const outcome = rnd() < 0.08 ? 'withdraw' : rnd() < 0.25 ? 'keep-hold' : 'release';
      op = `safety review ${outcome}`;
      act('safety-review', { outcome, riskLevel: outcome === 'release' ? 'low' : undefined, notes: 'reviewed with the client' } as never);
    } else if (r < 0.7) {
      op = m.state.status === 'paused' ? 'resume' : 'pause';
      if (m.state.status === 'paused') act('resume', {});
      else act('pause', { reason: 'client travelling' });
    } else if (r < 0.72) {
      op = 'withdraw';
      act('withdraw', { reason: 'client moved away' });
    } else if (r < 0.76 && dose && dose.session?.status === 'held') {
      op = `reschedule ${dose.id}`;
      act('schedule', { stepKey: dose.id, startsInHours: 24 });
    } else {
      // Move the course on: dose, discharge, integration, the next dose.
      op = 'advance';
      if (dose?.session?.status === 'checked-in') act('dose', { stepKey: dose.id, route: 'sublingual', doseMg: 200 });
      else if (dose?.session?.status === 'dosed') {
        now += 3 * H;
        m.tick(now);
        act('discharge', { stepKey: dose.id, bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true });
      } else {
        const integ = openOf('integration');
        if (integ) act('session-complete', { stepKey: integ.id });
        const other = m.view(now).steps.find((s) => s.status === 'open' && ['review', 'task'].includes(s.kind));
        if (other) act('task-complete', { stepKey: other.id });
        const md = openOf('maintenance-decision');
        if (md) act('maintenance-decision', { decision: 'complete' });
      }
    }
    m.tick(now);
    flush();
    check(op);
    ops.push(op);
    // Continue-as-new now and then: the state carried as JSON keeps the same holds.
    if (rnd() < 0.05) m = new CourseMachine(protocol, JSON.parse(JSON.stringify(m.state)));
  }
  return { ops, maxOpen, closedBy };
}

test('the projected open holds equal the workflow holds after every step of 250 random courses', () => {
  const seen = { ops: new Set<string>(), maxOpen: 0, closedBy: {} as Record<string, number> };
  for (let seed = 1; seed <= 250; seed++) {
    const r = drive(seed, 60);
    for (const o of r.ops) seen.ops.add(o.split(' ').slice(0, 2).join(' '));
    seen.maxOpen = Math.max(seen.maxOpen, r.maxOpen);
    for (const [k, v] of Object.entries(r.closedBy)) seen.closedBy[k] = (seen.closedBy[k] ?? 0) + v;
  }
  // The sequences really exercised every path (else the property above proves little).
  expect(seen.maxOpen).toBeGreaterThanOrEqual(3);
  for (const op of ['pre-dose-check', 'critical answer', 'adverse event', 'safety review', 'pause', 'resume', 'withdraw', 'advance']) {
    expect([...seen.ops].some((o) => o.startsWith(op))).toBe(true);
  }
  for (const how of ['a later pre-dose check of this session proceeded', 'clinician review: release', 'clinician review: withdraw', 'the course ended']) {
    expect({ how, closed: (seen.closedBy[how] ?? 0) > 0 }).toEqual({ how, closed: true });
  }
});

test('a hold at 165/102 is closed by a re-check at 135/85 of that session, in the same projection', () => {
  const protocol = getProtocol('kap-office', 1)!;
  const m = CourseMachine.create(protocol, { courseId: 'c1', clientId: 'k1', clinicId: 'x1', timeScale: 1 }, T0);
  const act = <K extends CourseActionName>(name: K, input: CourseActionInputs[K]) => m.apply(name, { ...input, actor: { staffId: 's1', role: 'prescriber' } } as CourseActionInputs[K], T0);
  answerBaseline(m, T0);
  act('screening', { hardStops: NO(HARD_STOPS), reviewItems: NO(REVIEW_ITEMS) } as never);
  act('clearance', { decision: 'approved' });
  act('consent', { documentVersion: 'v1', signedByClient: true });
  for (const n of [1, 2, 3]) act('session-complete', { stepKey: `prep-${n}` });
  act('schedule', { stepKey: 'dose-1', startsInHours: 1 });
  m.takeOutput();
  act('pre-dose-check', { stepKey: 'dose-1', ...CHECK, cssrsRisk: 'none', phq9Item9: 0, bloodPressure: { systolic: 165, diastolic: 102 } } as never);
  const held = m.takeOutput().projection!;
  const open = held.records.filter((r) => r.table === 'safety-event');
  expect(open).toHaveLength(1);
  expect(open[0]).toMatchObject({ kind: 'pre-dose-hold', resolvedAt: null, detail: { reason: expect.stringContaining('165/102') } });
  expect(String(open[0]!.detail.reason)).toMatch(/Systolic 165 mmHg is above the limit of 140; Diastolic 102 mmHg is above the limit of 90/);
  expect(m.state.holds.map((h) => h.kind)).toEqual(['pre-dose-hold']);
  act('pre-dose-check', { stepKey: 'dose-1', ...CHECK, cssrsRisk: 'none', phq9Item9: 0, bloodPressure: { systolic: 135, diastolic: 85 } } as never);
  const proceeded = m.takeOutput().projection!;
  expect(proceeded.records.filter((r) => r.table === 'safety-event')).toEqual([expect.objectContaining({ id: open[0]!.id, resolvedAt: new Date(T0).toISOString(), detail: expect.objectContaining({ resolution: 'a later pre-dose check of this session proceeded' }) })]);
  expect(proceeded.course).toBeDefined(); // the same transition's projection carries the course row too
  expect(m.state.holds).toEqual([]);
  expect(act('dose', { stepKey: 'dose-1', route: 'sublingual' }).outcome).toBe('dosed');
});
