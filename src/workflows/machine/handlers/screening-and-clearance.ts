// Handlers of the intake actions: screening, medical clearance, REMS enrollment, informed consent.
// Each checks its input against the course (a Rejection, never a change) and returns the change to make;
// the input has passed its catalogue schema already (src/domain/actions/catalogue.ts).
import { checkEligibility, HARD_STOPS, readAnswer, SUICIDE_HARD_STOPS, type HardStopOverride, type ScreeningRecord } from '../../../domain/rules/eligibility';
import { Rejection } from '../../rejection';
import type { HandlerTable } from '../progression';

export const screeningAndClearance = {
  screening: (m, input, now) => {
    const [p, s] = m.stepOfKind('screening');
    const baseline = m.assessmentResults(`${m.state.courseId}/${p.id}`);
    // Who overrides is the Update's actor (set by the server from the credential); anything else an
    // override carries (byRole / byUserId from older clients) is ignored. The role is checked
    // against the protocol's override roles by the eligibility rule.
    const by = input.actor;
    const requested = input.overrides ?? [];
    if (requested.length && !by?.role) throw new Rejection('InvalidInput', 'overrides: a hard-stop override needs an authenticated staff member or token');
    const overrides: HardStopOverride[] = requested.map((o) => ({
      hardStop: o.hardStop,
      reason: o.reason,
      byRole: by!.role!,
      ...(by?.staffId ? { byUserId: by.staffId } : by?.tokenId ? { byUserId: `token:${by.tokenId}` } : {}),
    }));
    const record: ScreeningRecord = {
      hardStops: input.hardStops,
      reviewItems: input.reviewItems,
      medications: input.medications,
      overrides,
      ...(baseline.cssrsRisk ? { cssrsRisk: baseline.cssrsRisk } : {}),
      ...(baseline.phq9Item9 !== undefined ? { phq9Item9: baseline.phq9Item9 } : {}),
    };
    let decision;
    try {
      decision = checkEligibility(record, { overrideRoles: m.protocol.safety.hardStopOverrideRoles });
    } catch (err) {
      throw new Rejection('InvalidInput', `screening: ${(err as Error).message}`);
    }
    if (decision.decision === 'incomplete') {
      throw new Rejection('ClinicallyRefused', `screening is incomplete: ${decision.reasons.filter((r) => r.blocking).map((r) => r.message).join('; ')}`, decision.reasons);
    }
    return () => {
      const codes = decision.reasons.map((r) => r.code);
      m.state.screening = { decision: decision.decision, codes };
      m.event('screening.recorded', p.id, input.actor, { decision: decision.decision, codes }, now);
      // Each override of a hard stop that was present: accepted or refused, with the principal and the reason.
      for (const o of overrides) {
        const accepted = codes.includes(`hard-stop-overridden:${o.hardStop}`);
        if (!accepted && !codes.includes(`hard-stop:${o.hardStop}`)) continue; // not present: nothing overridden
        m.event(accepted ? 'hard-stop.overridden' : 'hard-stop.override-refused', p.id, input.actor, { hardStop: o.hardStop, byRole: o.byRole, reason: o.reason.trim(), accepted }, now);
      }
      // A suicide-related hard stop answered yes by staff is a suicide-risk signal: it opens a high
      // suicide-risk item that only a clinician's review closes, whether the course ends
      // ineligible or goes on by an override (then it holds dosing until reviewed like any other).
      // When a suicide-risk item is already open (the client's own screening C-SSRS or PHQ-9 item 9),
      // the clinician's finding is the same episode: that item already waits for the same review.
      for (const stop of SUICIDE_HARD_STOPS) {
        if (readAnswer(input.hardStops[stop]).kind !== 'present') continue;
        if (m.state.holds.some((h) => h.suicideRisk)) continue;
        const holdId = `${m.state.courseId}/${p.id}/screening-risk-${stop}`;
        if (m.state.holds.some((h) => h.id === holdId)) continue;
        const overridden = codes.includes(`hard-stop-overridden:${stop}`);
        m.addHold({ id: holdId, kind: 'screening-risk', reason: `Screening: ${HARD_STOPS[stop].toLowerCase()}${overridden ? ' (hard stop overridden; the course goes on)' : ' (the course is ineligible)'}`, level: 'high', at: now, stepKey: p.id, suicideRisk: true }, now, null);
      }
      if (decision.decision === 'ineligible') {
        m.complete(p, s, 'ineligible', now);
        m.end('ineligible', `ineligible: ${codes.filter((c) => c.startsWith('hard-stop:')).join(', ')}`, now);
      } else m.complete(p, s, decision.decision, now);
      return { outcome: decision.decision, reasons: decision.reasons };
    };
  },

  clearance: (m, input, now) => {
    const [p, s] = m.stepOfKind('clearance');
    const reason = input.reason?.trim() || null;
    if (input.decision === 'denied' && !reason) throw new Rejection('InvalidInput', 'reason: a denial needs a recorded reason');
    if (input.decision === 'approved' && m.state.screening?.decision === 'needs-review' && !reason) {
      const items = m.state.screening.codes.filter((c) => c.startsWith('review:') || c.startsWith('interaction:'));
      throw new Rejection('ClinicallyRefused', `screening asked for prescriber review (${items.join(', ')}): record the reason for approving`);
    }
    return () => {
      m.state.clearance = { decision: input.decision, reason };
      m.event(`clearance.${input.decision}`, p.id, input.actor, { reason }, now);
      if (input.decision === 'approved') m.complete(p, s, 'approved', now);
      else if (input.decision === 'denied') {
        m.complete(p, s, 'denied', now);
        m.end('ineligible', `clearance-denied: ${reason}`, now, input.actor);
      } else {
        s.outcome = 'needs-records';
        m.touch(p.id);
      }
      return { outcome: input.decision };
    };
  },

  'rems-enrollment': (m, input, now) => {
    const [p, s] = m.stepOfKind('rems-enrollment');
    if (input.enrolled !== true) throw new Rejection('ClinicallyRefused', 'the client must be enrolled in the REMS before treatment (enrolled: true)');
    return () => {
      m.state.remsEnrolled = true;
      m.event('rems.enrolled', p.id, input.actor, { remsPatientId: input.remsPatientId ?? null }, now);
      m.complete(p, s, 'enrolled', now);
      return { outcome: 'enrolled' };
    };
  },

  consent: (m, input, now) => {
    const [p, s] = m.stepOfKind('consent');
    if (input.signedByClient !== true) throw new Rejection('ClinicallyRefused', 'informed consent must be signed by the client');
    if (m.protocol.rems && input.prescriberSigned !== true) throw new Rejection('ClinicallyRefused', 'under the Spravato REMS the prescriber must sign the consent too');
    return () => {
      m.state.consented = true;
      m.emit({
        kind: 'consent',
        stepKey: p.id,
        consentKind: m.protocol.rems ? 'treatment-and-rems' : 'treatment',
        documentVersion: input.documentVersion,
        at: now,
        prescriberSigned: input.prescriberSigned === true,
        prescriberId: input.prescriberSigned ? (input.actor?.staffId ?? null) : null,
      });
      m.event('consent.signed', p.id, input.actor, { documentVersion: input.documentVersion }, now);
      m.complete(p, s, 'signed', now);
      return { outcome: 'signed' };
    };
  },
} satisfies HandlerTable;
