// Handlers of a session's actions and of safety: scheduling, attendance, the pre-dose check, the dose,
// monitoring vitals, discharge, adverse events, the clinician's safety review, the REMS monitoring form.
// Each checks its input against the course (a Rejection, never a change) and returns the change to make;
// the input has passed its catalogue schema already (src/domain/actions/catalogue.ts).
import { dischargeReadiness } from '../../../domain/rules/discharge-readiness';
import { preDoseCheck } from '../../../domain/rules/pre-dose-check';
import type { Reason } from '../../../domain/rules/decision';
import { isoTime as iso } from '../../../domain/time';
import { Rejection } from '../../rejection';
import { notesSummary } from '../events';
import { REMINDER_HOURS_BEFORE, SESSION_GRACE_HOURS, type HandlerTable } from '../progression';

export const sessionsAndSafety = {
  schedule: (m, input, now) => {
    const [p, s] = m.openStepOf(input.stepKey, ['preparation', 'dosing', 'integration'], 'schedule');
    const ses = s.session!;
    if (!['unscheduled', 'scheduled', 'no-show', 'held'].includes(ses.status)) throw new Rejection('InvalidTransition', `${p.id} cannot be (re)scheduled: its session is ${ses.status}`);
    // The schema lets exactly one through: an ISO time with its offset, or protocol hours from now.
    const startsAt = input.startsAt !== undefined ? Date.parse(input.startsAt) : now + m.hours(input.startsInHours!);
    if (startsAt < now - m.hours(1)) throw new Rejection('InvalidInput', `startsAt ${iso(startsAt)} is in the past`);
    if (p.kind === 'dosing' && m.state.lastDoseAt !== null) {
      // A booster keeps the protocol's spacing between boosters (maintenance), a course dose the course's.
      const [minDays, what] = p.maintenance ? [m.protocol.maintenance.minDaysBetweenBoosters, 'a booster comes at least'] : [m.protocol.course.minDaysBetweenDoses, 'doses must be at least'];
      const earliest = m.state.lastDoseAt + m.hours(minDays * 24);
      if (startsAt < earliest) throw new Rejection('ClinicallyRefused', `${what} ${minDays} day(s) apart: earliest ${iso(earliest)}`);
    }
    if (p.kind === 'integration' && s.deadlineAt !== null && startsAt > s.deadlineAt) {
      throw new Rejection('ClinicallyRefused', `integration must take place within ${m.protocol.course.integrationWindowHours ?? p.deadlineHours} h of the dose: by ${iso(s.deadlineAt)}`);
    }
    return () => {
      const rescheduled = ses.scheduleCount > 0;
      ses.status = 'scheduled';
      ses.startsAt = startsAt;
      ses.scheduleCount++;
      ses.preDose = null;
      ses.reminders = REMINDER_HOURS_BEFORE.map((h) => ({ hoursBefore: h, at: startsAt - m.hours(h), sent: startsAt - m.hours(h) <= now }));
      m.setDeadline(p, s, Math.max(s.deadlineAt ?? 0, startsAt + m.hours(SESSION_GRACE_HOURS)));
      if (p.kind === 'integration') s.deadlineAt = Math.min(s.deadlineAt!, m.integrationDeadline(p, s));
      m.sessionRecord(p, s);
      m.event(rescheduled ? 'session.rescheduled' : 'session.scheduled', p.id, input.actor, { startsAt: iso(startsAt) }, now);
      return { outcome: rescheduled ? 'rescheduled' : 'scheduled' };
    };
  },

  'session-complete': (m, input, now) => {
    const [p, s] = m.openStepOf(input.stepKey, ['preparation', 'integration'], 'session-complete');
    const ses = s.session!;
    if (ses.status === 'no-show') throw new Rejection('InvalidTransition', `${p.id} was a no-show: reschedule it first`);
    return () => {
      ses.status = 'completed';
      m.sessionRecord(p, s, now);
      m.foldSession(p, s);
      m.event('session.completed', p.id, input.actor, {}, now);
      m.complete(p, s, 'attended', now);
      return { outcome: 'completed' };
    };
  },

  'no-show': (m, input, now) => {
    const [p, s] = m.openStepOf(input.stepKey, ['preparation', 'dosing', 'integration'], 'no-show');
    const ses = s.session!;
    if (ses.status !== 'scheduled' && ses.status !== 'held') throw new Rejection('InvalidTransition', `${p.id} has no scheduled session to miss (session is ${ses.status})`);
    return () => {
      ses.status = 'no-show';
      ses.noShowCount++;
      // The no-show path: the coordinator reschedules (or withdraws) within the step's own deadline.
      const base = p.deadlineHours ?? 72;
      let deadline = now + m.hours(base);
      if (p.kind === 'integration') deadline = Math.min(deadline, m.integrationDeadline(p, s));
      m.setDeadline(p, s, Math.max(deadline, now + 1));
      m.sessionRecord(p, s);
      m.notify(`${m.state.courseId}/${p.id}/no-show-${ses.noShowCount}`, 'course-notice', { kind: 'role', role: 'coordinator' }, { subjectKey: 'no-show', courseId: m.state.courseId, stepKey: p.id, noShows: ses.noShowCount });
      m.event('session.no-show', p.id, input.actor, { noShows: ses.noShowCount }, now);
      return { outcome: 'no-show' };
    };
  },

  'pre-dose-check': (m, input, now) => {
    const [p, s] = m.openStepOf(input.stepKey, ['dosing'], 'pre-dose-check');
    const ses = s.session!;
    if (ses.status !== 'scheduled' && ses.status !== 'held') throw new Rejection('InvalidTransition', `${p.id}: schedule the session before the pre-dose check (session is ${ses.status})`);
    // Suicide risk from the client's own answers (the latest C-SSRS and PHQ-9 of this course); a value
    // typed at check-in may only make it stricter, never stand in for the answers.
    const fromAssessment = m.checkInRisk(input);
    const decision = preDoseCheck(m.protocol, {
      bloodPressure: input.bloodPressure,
      hoursSinceFood: input.hoursSinceFood ?? null,
      hoursSinceClearLiquids: input.hoursSinceClearLiquids ?? null,
      escortConfirmed: input.escortConfirmed,
      // This session's own pre-dose hold is what this check re-decides, not a reason to hold it.
      openSafetyHolds: m.state.holds.filter((h) => !(h.kind === 'pre-dose-hold' && h.stepKey === p.id)).map((h) => ({ id: h.id, reason: h.reason })),
      cssrsRisk: fromAssessment.cssrsRisk ?? null,
      phq9Item9: fromAssessment.phq9Item9 ?? null,
      missingBaseline: m.baselineProblems(now),
      benzodiazepine: input.benzodiazepine,
      pregnancy: input.pregnancy,
      newInteractingMedications: input.newInteractingMedications,
    });
    return () => {
      ses.preDose = { decision: decision.decision, reasons: decision.reasons, at: now, count: (ses.preDose?.count ?? 0) + 1 };
      ses.status = decision.decision === 'proceed' ? 'checked-in' : 'held';
      ses.readings = m.keepReadings([...ses.readings.filter((r) => r.at !== 0), { at: 0, ...input.bloodPressure }]);
      m.vitals(p, s, 'pre-dose', null, input.bloodPressure, input.heartRate, input.spo2, now);
      // This session's pre-dose hold: opened (or its reason brought up to date) by a check that holds for
      // reasons of its own, closed by one that proceeds. Holds that are already open (a critical answer,
      // an adverse event) are theirs to close, and suicide risk gets its own hold below.
      const own = m.state.holds.find((h) => h.kind === 'pre-dose-hold' && h.stepKey === p.id);
      const mine = decision.reasons.filter((r) => r.blocking && r.code !== 'safety-hold-open' && r.code !== 'suicide-risk-critical');
      if (decision.decision === 'proceed' && own) m.closeHold(own, now, 'a later pre-dose check of this session proceeded', input.actor);
      if (decision.decision === 'hold' && mine.length) {
        const bpText = `blood pressure ${input.bloodPressure.systolic}/${input.bloodPressure.diastolic} mmHg`;
        const reason = `pre-dose check of ${p.id} held the dose (${bpText}): ${mine.map((r) => r.message).join('; ')}`;
        if (own) {
          own.reason = reason;
          m.holdChanged(own, null);
        } else {
          m.addHold({ id: `${m.state.courseId}/${p.id}/pre-dose-hold-${ses.preDose.count}`, kind: 'pre-dose-hold', reason, level: null, at: now, stepKey: p.id, suicideRisk: false }, now, null, false);
        }
      }
      if (decision.decision === 'hold') {
        const critical = decision.reasons.find((r) => r.code === 'suicide-risk-critical');
        if (critical && !m.state.holds.some((h) => h.stepKey === p.id && h.kind === 'pre-dose-risk')) {
          const cssrs = fromAssessment.cssrsRisk ?? null;
          const item9 = fromAssessment.phq9Item9 ?? null;
          const values = [cssrs ? `C-SSRS ${cssrs} risk` : null, item9 !== null ? `PHQ-9 item 9 = ${item9}` : null].filter(Boolean).join(', ');
          m.addHold({ id: `${m.state.courseId}/${p.id}/risk-hold`, kind: 'pre-dose-risk', reason: `${critical.message}${values ? ` (${values})` : ''}`, level: cssrs === 'high' ? 'high' : 'moderate', at: now, stepKey: p.id, suicideRisk: true }, now, null);
        }
      }
      m.sessionRecord(p, s);
      m.event(`pre-dose.${decision.decision}`, p.id, input.actor, { codes: decision.reasons.map((r) => r.code) }, now);
      return { outcome: decision.decision, reasons: decision.reasons };
    };
  },

  dose: (m, input, now) => {
    const [p, s] = m.openStepOf(input.stepKey, ['dosing'], 'dose');
    const ses = s.session!;
    // No dose without its checks: every missing one is named in one refusal.
    const missing: string[] = [];
    const reasons: Reason[] = [];
    // This session's own pre-dose hold is named below with the check that held it.
    const others = m.state.holds.filter((h) => !(h.kind === 'pre-dose-hold' && h.stepKey === p.id));
    if (others.length > 0) missing.push(`safety hold open (${others.map((h) => h.reason).join('; ')}): no dosing until a clinician records a safety review`);
    for (const problem of m.baselineProblems(now)) missing.push(problem);
    if (ses.status === 'held') {
      const held = ses.preDose!.reasons.filter((r) => r.blocking && r.code !== 'baseline-missing');
      if (held.length) missing.push(`the pre-dose check held this dose: ${held.map((r) => r.message).join('; ')}`);
      else missing.push(`no passing pre-dose check recorded for this session of ${p.id} (the last one held it)`);
      reasons.push(...ses.preDose!.reasons);
    } else if (ses.status !== 'checked-in') {
      missing.push(ses.status === 'unscheduled' || ses.status === 'no-show' ? `no session scheduled and no pre-dose check recorded for ${p.id} (session is ${ses.status})` : `no passing pre-dose check recorded for this session of ${p.id} (session is ${ses.status})`);
    }
    if (missing.length) throw new Rejection('ClinicallyRefused', `dose refused: ${missing.join('; ')}`, reasons.length ? reasons : missing.map((text) => ({ code: 'dose-check-missing', message: text, blocking: true })));
    if (!(m.protocol.routes as string[]).includes(input.route)) throw new Rejection('ClinicallyRefused', `route ${input.route} is not one of this protocol's routes (${m.protocol.routes.join(', ')})`);
    if (p.maintenance && m.state.lastDoseAt !== null && now < m.state.lastDoseAt + m.hours(m.protocol.maintenance.minDaysBetweenBoosters * 24)) {
      throw new Rejection('ClinicallyRefused', `a booster comes at least ${m.protocol.maintenance.minDaysBetweenBoosters} day(s) after the last dose: earliest ${iso(m.state.lastDoseAt + m.hours(m.protocol.maintenance.minDaysBetweenBoosters * 24))}`);
    }
    return () => {
      ses.status = 'dosed';
      ses.doseAt = now;
      ses.dose = { route: input.route, doseMg: input.doseMg ?? null, lotNumber: input.lotNumber ?? null };
      if (m.state.firstDoseAt === null) m.state.firstDoseAt = now;
      m.setDeadline(p, s, now + m.hours(Math.max(m.protocol.safety.minMonitoringMinutes / 60, 1) + SESSION_GRACE_HOURS));
      m.sessionRecord(p, s);
      m.event('dose.given', p.id, input.actor, { route: input.route, doseMg: input.doseMg ?? null }, now);
      return { outcome: 'dosed' };
    };
  },

  vitals: (m, input, now) => {
    const [p, s] = m.openStepOf(input.stepKey, ['dosing'], 'vitals');
    const ses = s.session!;
    if (ses.status !== 'dosed') throw new Rejection('InvalidTransition', `${p.id}: monitoring vitals are recorded after the dose (session is ${ses.status})`);
    // A timed reading is taken at its time: a "40-minute" reading before 40 minutes is not one.
    const elapsed = m.protocolMinutes(now - ses.doseAt!);
    if (input.atMinutes > elapsed) {
      const left = Math.ceil(input.atMinutes - elapsed);
      throw new Rejection('ClinicallyRefused', `the ${input.atMinutes}-minute reading is taken ${input.atMinutes} min after the dose: ${Math.floor(elapsed)} min have passed, ${left} min left`);
    }
    return () => {
      ses.readings = m.keepReadings([...ses.readings, { at: input.atMinutes, ...input.bloodPressure }]);
      if (input.spo2 !== undefined) ses.spo2 = input.spo2;
      m.vitals(p, s, 'monitoring', input.atMinutes, input.bloodPressure, input.heartRate, input.spo2, now);
      m.sessionRecord(p, s);
      return { outcome: 'recorded' };
    };
  },

  discharge: (m, input, now) => {
    const [p, s] = m.openStepOf(input.stepKey, ['dosing'], 'discharge');
    const ses = s.session!;
    if (ses.status !== 'dosed') throw new Rejection('InvalidTransition', `${p.id}: discharge comes after the dose (session is ${ses.status})`);
    const minutes = Math.floor(m.protocolMinutes(now - ses.doseAt!));
    const readiness = dischargeReadiness(m.protocol, {
      minutesSinceDoseStart: minutes,
      readings: [...ses.readings, { at: 'discharge', ...input.bloodPressure }],
      spo2Percent: input.spo2 ?? ses.spo2,
      checklist: input.checklist ?? {},
      responsibleAdultPresent: input.responsibleAdultPresent === true,
    });
    if (readiness.decision !== 'ready') {
      throw new Rejection('ClinicallyRefused', `not ready for discharge: ${readiness.reasons.map((r) => r.message).join('; ')}`, readiness.reasons);
    }
    return () => {
      ses.readings = [...ses.readings, { at: 'discharge', ...input.bloodPressure }];
      ses.status = 'completed';
      ses.dischargedAt = now;
      m.vitals(p, s, 'discharge', minutes, input.bloodPressure, input.heartRate, input.spo2, now);
      m.state.lastDoseAt = ses.doseAt;
      m.state.dosesGiven++;
      // A booster's discharge is not the course's end (the follow-ups stay counted from the last course dose).
      if (!p.maintenance && (m.state.dosesGiven >= m.protocol.course.dosingSessions || m.plan.filter((q) => q.kind === 'dosing' && !q.maintenance).every((q) => q.id === p.id || m.isDone(q.id)))) {
        m.state.courseEndAt = now;
      }
      m.sessionRecord(p, s, now);
      m.event('session.discharged', p.id, input.actor, { monitoringMinutes: minutes }, now);
      m.complete(p, s, 'dosed', now);
      m.foldSession(p, s);
      // The REMS form of this session opens now (tick), pre-filled from the session.
      return { outcome: 'discharged' };
    };
  },

  'adverse-event': (m, input, now) => {
    if (input.stepKey !== undefined && !m.byId.has(input.stepKey)) throw new Rejection('InvalidInput', `unknown step ${input.stepKey}`);
    return () => {
      const n = ++m.state.counters.adverse;
      const id = `${m.state.courseId}/ae-${n}`;
      const serious = input.serious === true || input.severity === 'severe' || input.severity === 'life-threatening';
      m.emit({ kind: 'adverse-event', id, stepKey: input.stepKey ?? null, category: input.category, severity: input.severity, serious, description: input.description ?? null, at: now, ...(input.actor ? { actor: input.actor } : {}) });
      m.event('adverse-event.recorded', input.stepKey ?? null, input.actor, { id, category: input.category, severity: input.severity, serious }, now);
      if (serious) {
        // Serious events escalate at once, and no further dosing until a clinician reviews.
        // A psychiatric event is about suicide risk until a clinician has reviewed it.
        const psychiatric = input.category === 'psychiatric';
        const described = input.description?.trim() ? `: ${input.description.trim()}` : '';
        m.addHold({ id: `${id}/hold`, kind: 'adverse-event', reason: `serious adverse event ${id} (${input.category}, ${input.severity})${described}`, level: psychiatric ? 'high' : null, at: now, stepKey: input.stepKey ?? null, suicideRisk: psychiatric }, now, null);
      }
      return { outcome: serious ? 'serious-escalated' : 'recorded' };
    };
  },

  'safety-review': (m, input, now) => {
    if (m.state.holds.length === 0) throw new Rejection('InvalidTransition', 'no safety hold is open');
    if (input.outcome === 'release' && input.riskLevel === 'high') throw new Rejection('ClinicallyRefused', 'a hold cannot be released while the assessed risk is high');
    return () => {
      m.event(`safety-review.${input.outcome}`, null, input.actor, { holds: m.state.holds.map((h) => h.id), riskLevel: input.riskLevel ?? null, ...notesSummary(input.notes) }, now);
      // A review that releases, or that withdraws the client (referred on), closes every open hold, in
      // the same projection as the review; keep-hold closes none.
      if (input.outcome !== 'keep-hold') {
        for (const h of [...m.state.holds]) m.closeHold(h, now, `clinician review: ${input.outcome}`, input.actor, input.notes);
      }
      if (input.outcome === 'release') {
        m.state.riskLevel = input.riskLevel ?? 'low';
      } else if (input.outcome === 'withdraw') {
        m.withdraw(`safety-review: ${input.notes ?? 'withdrawn after safety review'}`, now, input.actor);
      }
      return { outcome: input.outcome };
    };
  },

  'rems-form': (m, input, now) => {
    const [p, s] = m.openStepOf(input.stepKey, ['rems-monitoring-form'], 'rems-form');
    // The form reports the session's dose: a dose or lot that differs from what the session recorded
    // is refused, naming both, unless the form is filed as an amendment (a documented correction with
    // its reason), recorded with both values. A lot the session did not record is taken from the form.
    const sessionKey = p.timing.anchor === 'step' ? p.timing.stepId : p.id;
    const dose = m.state.steps[sessionKey]?.session?.dose ?? null;
    const mismatch: Reason[] = [];
    if (dose?.doseMg != null && dose.doseMg !== input.doseMg) mismatch.push({ code: 'doseMg', message: `doseMg: the session ${sessionKey} recorded ${dose.doseMg} mg; the form says ${input.doseMg} mg`, blocking: true });
    if (dose?.lotNumber != null && dose.lotNumber !== input.lotNumber) mismatch.push({ code: 'lotNumber', message: `lotNumber: the session ${sessionKey} recorded lot ${dose.lotNumber}; the form says lot ${input.lotNumber}`, blocking: true });
    if (input.amendmentReason !== undefined && !mismatch.length) {
      throw new Rejection('InvalidInput', `amendmentReason: the form's dose and lot match the session ${sessionKey}'s dose record: nothing to amend`, [{ code: 'amendmentReason', message: `amendmentReason: the form's dose and lot match the session ${sessionKey}'s dose record: nothing to amend`, blocking: true }]);
    }
    if (mismatch.length && input.amendmentReason === undefined) {
      const recorded = [dose?.doseMg != null ? `${dose.doseMg} mg` : null, dose?.lotNumber != null ? `lot ${dose.lotNumber}` : null].filter((x) => x !== null).join(', ');
      throw new Rejection(
        'ClinicallyRefused',
        `the REMS form must match the session's dose record: the session ${sessionKey} recorded ${recorded}; the form says ${input.doseMg} mg, lot ${input.lotNumber}`,
        mismatch,
      );
    }
    return () => {
      m.remsRecord(p, s, now, input);
      if (input.amendmentReason !== undefined) {
        m.event('rems-form.amended', p.id, input.actor, { session: sessionKey, recorded: { doseMg: dose?.doseMg ?? null, lotNumber: dose?.lotNumber ?? null }, filed: { doseMg: input.doseMg, lotNumber: input.lotNumber }, reason: input.amendmentReason }, now);
      }
      m.event('rems-form.submitted', p.id, input.actor, input.vitalsAcceptable ? { vitalsAcceptable: input.vitalsAcceptable } : {}, now);
      m.complete(p, s, 'submitted', now);
      m.formSubmitted(p);
      return { outcome: 'submitted' };
    };
  },
} satisfies HandlerTable;
