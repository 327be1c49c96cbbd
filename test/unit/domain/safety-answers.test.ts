// Nothing is assumed (issue #16 item 6) and no crisis answer is lost (item 3): the rules on their own.
import { actionForm, formToBody } from '../../../src/api/action-forms';
import { ACTIONS } from '../../../src/domain/actions/catalogue';
import { triageLate } from '../../../src/api/late-answers';
import { checkEligibility, dischargeReadiness, getProtocol, HARD_STOPS, preDoseCheck, readAnswer, REVIEW_ITEMS } from '../../../src/domain';
import { checkClientLink, deriveLinkKey, signClientLink, signedClaims } from '../../../src/security/client-links';

const NO = (keys: object) => Object.fromEntries(Object.keys(keys).map((k) => [k, 'no' as const]));
const codes = (r: { reasons: Array<{ code: string; blocking: boolean }> }) => r.reasons.filter((x) => x.blocking).map((x) => x.code);

describe('screening: every item answered explicitly', () => {
  test('yes / no / not assessed with a reason are answers; anything else is not', () => {
    expect(readAnswer(true)).toEqual({ kind: 'present' });
    expect(readAnswer('yes')).toEqual({ kind: 'present' });
    expect(readAnswer(false)).toEqual({ kind: 'absent' });
    expect(readAnswer('no')).toEqual({ kind: 'absent' });
    expect(readAnswer({ notAssessed: ' no lab yet ' })).toEqual({ kind: 'not-assessed', reason: 'no lab yet' });
    for (const v of [undefined, null, '', 'maybe', { notAssessed: '  ' }, 0]) expect(readAnswer(v)).toEqual({ kind: 'unanswered' });
  });

  test('all answered "no" is eligible; review items left unanswered make it incomplete, naming each', () => {
    expect(checkEligibility({ hardStops: NO(HARD_STOPS), reviewItems: NO(REVIEW_ITEMS) }).decision).toBe('eligible');
    const r = checkEligibility({ hardStops: NO(HARD_STOPS), reviewItems: { cystitis: 'no' } });
    expect(r.decision).toBe('incomplete');
    expect(codes(r).sort()).toEqual(Object.keys(REVIEW_ITEMS).filter((k) => k !== 'cystitis').map((k) => `not-assessed:review:${k}`).sort());
  });

  test('a hard stop not assessed keeps the screening incomplete with its reason; a review item not assessed goes to the prescriber', () => {
    const stop = checkEligibility({ hardStops: { ...NO(HARD_STOPS), pregnancy: { notAssessed: 'test pending' } }, reviewItems: NO(REVIEW_ITEMS) });
    expect(stop.decision).toBe('incomplete');
    expect(stop.reasons.find((x) => x.code === 'not-assessed:pregnancy')!.message).toBe('Not assessed: Pregnancy (test pending)');
    const item = checkEligibility({ hardStops: NO(HARD_STOPS), reviewItems: { ...NO(REVIEW_ITEMS), breastfeeding: { notAssessed: 'not asked' } } });
    expect(item.decision).toBe('needs-review');
    expect(codes(item)).toEqual(['review:not-assessed:breastfeeding']);
  });

  test('the API schema names every unanswered item of an empty screening', () => {
    const r = ACTIONS.screening.schema.safeParse({ hardStops: {} });
    expect(r.success).toBe(false);
    const fields = r.error!.issues.map((i) => i.path.join('.')).sort();
    expect(fields).toEqual([...Object.keys(HARD_STOPS).map((k) => `hardStops.${k}`), ...Object.keys(REVIEW_ITEMS).map((k) => `reviewItems.${k}`)].sort());
    expect(ACTIONS.screening.schema.safeParse({ hardStops: NO(HARD_STOPS), reviewItems: { ...NO(REVIEW_ITEMS), cystitis: { notAssessed: '' } } }).success).toBe(false);
    expect(ACTIONS.screening.schema.safeParse({ hardStops: NO(HARD_STOPS), reviewItems: { ...NO(REVIEW_ITEMS), cystitis: { notAssessed: 'declined' } } }).success).toBe(true);
  });

  test('the dashboard form offers present / absent / not assessed for every item, none chosen; its post becomes the same body', () => {
    const form = actionForm('screening', { courseId: 'c1', stepKey: 'screening', principal: { role: 'coordinator', clinics: 'all', staffId: 's1', via: 'session', displayName: 'Co', csrfToken: 't' }, dischargeChecklist: [], routes: [] }, true).toString();
    expect(form).not.toContain('type="checkbox"');
    for (const k of [...Object.keys(HARD_STOPS).map((x) => `hardStops.${x}`), ...Object.keys(REVIEW_ITEMS).map((x) => `reviewItems.${x}`)]) {
      for (const v of ['yes', 'no', 'not-assessed']) expect(form).toContain(`name="${k}:answer" value="${v}"`);
    }
    expect(form).not.toContain(' checked');
    const body = formToBody({ 'hardStops.pregnancy:answer': 'not-assessed', 'hardStops.pregnancy:reason': 'test pending', 'hardStops.acute-mania:answer': 'no', 'reviewItems.cystitis:answer': 'yes', 'reviewItems.cystitis:reason': 'ignored' });
    expect(body).toEqual({ hardStops: { pregnancy: { notAssessed: 'test pending' }, 'acute-mania': 'no' }, reviewItems: { cystitis: 'yes' } });
  });
});

describe('pre-dose check and discharge', () => {
  const kap = getProtocol('kap-office')!;
  const base = { bloodPressure: { systolic: 120, diastolic: 80 }, hoursSinceFood: 8, hoursSinceClearLiquids: 2, escortConfirmed: true, pregnancy: 'negative' as const, cssrsRisk: 'none' as const, phq9Item9: 0 };
  test('a missing baseline holds the dose, each problem named', () => {
    const r = preDoseCheck(kap, { ...base, missingBaseline: ['no baseline C-SSRS answered by the client'] });
    expect(r.decision).toBe('hold');
    expect(r.reasons.find((x) => x.code === 'baseline-missing')!.message).toBe('Baseline: no baseline C-SSRS answered by the client');
    expect(preDoseCheck(kap, { ...base, missingBaseline: [] }).decision).toBe('proceed');
  });
  test('discharge before the monitoring time names the time left', () => {
    const r = dischargeReadiness(kap, { minutesSinceDoseStart: 95, readings: [{ at: 0, systolic: 120, diastolic: 80 }, { at: 30, systolic: 120, diastolic: 80 }, { at: 'discharge', systolic: 120, diastolic: 80 }], spo2Percent: 98, checklist: Object.fromEntries(kap.safety.dischargeChecklist.map((c) => [c.id, true])), responsibleAdultPresent: true });
    expect(r.reasons.map((x) => x.message)).toEqual(['Monitored 95 min; at least 120 min required (25 min left)']);
  });
});

describe('late answers on a closed link', () => {
  test('a signed link gives its claims even when expired; a tampered one gives nothing', () => {
    const key = deriveLinkKey('k'.repeat(40));
    const { token } = signClientLink(key, { assessmentId: 'c1/screening', expiresAt: new Date('2020-01-01') });
    expect(checkClientLink(key, token, new Date('2026-01-01'))).toEqual({ ok: false, reason: 'expired' });
    expect(signedClaims(key, token)).toMatchObject({ assessmentId: 'c1/screening' });
    // Tampered: one signature character changed to another (never the same one by chance).
    const [body, sig] = token.split('.') as [string, string];
    const at = 10;
    const swapped = `${sig.slice(0, at)}${sig[at] === 'A' ? 'B' : 'A'}${sig.slice(at + 1)}`;
    expect(signedClaims(key, `${body}.${swapped}`)).toBeNull();
    // The same signature spelled another way (the last character's unused bits set) is refused too.
    const last = sig[sig.length - 1]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = `${sig.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`;
    expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(sig, 'base64url'))).toBe(true);
    expect(checkClientLink(key, `${body}.${respelled}`, new Date(0))).toEqual({ ok: false, reason: 'malformed' });
    expect(signedClaims(key, `${body}.${respelled}`)).toBeNull();
    expect(signedClaims(deriveLinkKey('o'.repeat(40)), token)).toBeNull();
  });
  test('triage: item 9 > 0 or C-SSRS high is critical, with what was endorsed; nothing endorsed is not', () => {
    const phq9 = (i9: number) => ({ instrumentId: 'phq9' as const, answers: [1, 1, 1, 1, 1, 1, 1, 1, i9] });
    expect(triageLate([phq9(3)])).toMatchObject({ critical: true, endorsed: true, level: 'moderate', summary: 'PHQ-9 item 9 = 3' });
    expect(triageLate([phq9(0)])).toMatchObject({ critical: false, endorsed: false });
    const high = triageLate([{ instrumentId: 'cssrs', answers: [true, true, true, true, false, false] }]);
    expect(high.critical).toBe(true);
    expect(high.level).toBe('high');
    expect(high.summary).toMatch(/C-SSRS high risk \(items answered yes: 1, 2, 3, 4\)/);
  });
});
