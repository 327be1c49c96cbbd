// The action catalogue (src/domain/actions/catalogue.ts) is the one definition of every staff action:
// what derives from it must agree with it, and its examples and forms must fit its schemas.
import { actionForm, formToBody } from '../../../src/api/action-forms';
import { ACTION_ROLES, ROUTE_ACCESS } from '../../../src/auth/role-matrix';
import { ACTIONS, ACTION_NAMES, parseActionInput, type FormField } from '../../../src/domain/actions/catalogue';
import { COURSE_ACTION_NAMES } from '../../../src/workflows/messages';
import { actionsHelp } from '../../../src/cli/commands/actions';

const admin = { role: 'admin' as const, clinics: 'all' as const, staffId: 's1', via: 'session' as const, displayName: 'Ad', csrfToken: 't' };
const ctx = { courseId: 'c1', stepKey: 'dose-1', principal: admin, dischargeChecklist: [{ id: 'alert-oriented', label: 'Alert' }], routes: ['sublingual'] };

const names = (fields: readonly FormField[]): string[] =>
  fields.flatMap((f) => (f.kind === 'group' ? names(f.fields) : f.kind === 'step' ? ['stepKey'] : 'name' in f ? [f.name] : []));

describe('action catalogue', () => {
  test('one name everywhere: Updates, role matrix rows and API routes are the catalogue', () => {
    expect([...COURSE_ACTION_NAMES]).toEqual(ACTION_NAMES);
    expect(Object.keys(ACTION_ROLES)).toEqual(ACTION_NAMES);
    for (const a of ACTION_NAMES) {
      expect(ACTION_ROLES[a]).toEqual(ACTIONS[a].roles);
      expect(ROUTE_ACCESS[`POST /api/courses/:id/${a}`]).toEqual(ACTIONS[a].roles);
    }
    expect(ROUTE_ACCESS['POST /api/courses/:id/assessments']).toBeUndefined();
  });

  test.each(ACTION_NAMES)('%s: its example is a valid body, and the workflow reads it with the actor beside it', (a) => {
    expect(ACTIONS[a].schema.safeParse(ACTIONS[a].example).success).toBe(true);
    const r = parseActionInput(a, { ...(ACTIONS[a].example as object), actor: { staffId: 'st-1', role: 'admin', label: 'Ad' } });
    expect(r.ok).toBe(true);
    expect(r.ok && r.input.actor).toEqual({ staffId: 'st-1', role: 'admin', label: 'Ad' });
  });

  test.each(ACTION_NAMES)('%s: every form field is a field of its schema', (a) => {
    const shape = (ACTIONS[a].schema as unknown as { shape: Record<string, unknown> }).shape;
    for (const n of names(ACTIONS[a].form)) expect([a, n, n.split('.')[0]! in shape]).toEqual([a, n, true]);
  });

  test('the workflow validator names the field and the reason; a body may not name the actor', () => {
    const bad = parseActionInput('vitals', { stepKey: 'dose-1', atMinutes: 40, bloodPressure: { systolic: 999, diastolic: 80 } });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems.map((p) => p.field)).toEqual(['bloodPressure.systolic']);
    const forged = parseActionInput('pause', { reason: 'x', byRole: 'prescriber' });
    expect(!forged.ok && forged.problems).toEqual([{ field: 'byRole', message: 'not allowed: who acts is taken from your credentials' }]);
    const badActor = parseActionInput('pause', { reason: 'x', actor: { role: 'client' } });
    expect(!badActor.ok && badActor.problems.map((p) => p.field)).toEqual(['actor.role']);
    expect(parseActionInput('pause', null)).toEqual({ ok: false, problems: [{ field: 'body', message: 'expected an object' }] });
    const trimmed = parseActionInput('pause', { reason: '  travelling  ' });
    expect(trimmed.ok && trimmed.input.reason).toBe('travelling');
    const defaults = parseActionInput('send-assessment', {});
    expect(defaults.ok && defaults.input.instruments).toEqual(['phq9', 'gad7']);
  });

  test('forms are rendered from the descriptors: role-gated, and a filled form becomes a valid body', () => {
    expect(actionForm('dose', { ...ctx, principal: { ...admin, role: 'therapist' } }).toString()).toBe('');
    const dose = actionForm('dose', ctx).toString();
    expect(dose).toContain('action="/courses/c1/actions/dose"');
    expect(dose).toContain('<input type="hidden" name="stepKey" value="dose-1">');
    expect(dose).toContain('<label for="dose-route">Route</label><select id="dose-route" name="route" required><option value="sublingual">sublingual</option></select>');
    expect(actionForm('withdraw', ctx).toString()).toContain('data-confirm="Withdraw this client from the course?"');
    const discharge = actionForm('discharge', ctx).toString();
    expect(discharge).toContain('<input type="hidden" name="checklist.alert-oriented:bool" value="false">');
    const body = formToBody({ stepKey: 'dose-1', 'bloodPressure.systolic:number': '120', 'bloodPressure.diastolic:number': '80', 'checklist.alert-oriented:bool': ['false', 'true'], 'responsibleAdultPresent:bool': 'true' });
    expect(ACTIONS.discharge.schema.safeParse(body).success).toBe(true);
    const send = actionForm('send-assessment', ctx).toString();
    expect(send).toContain('name="instruments:list" value="phq9,gad7" checked');
    expect(ACTIONS['send-assessment'].schema.parse(formToBody({ 'instruments:list': 'phq9,gad7,pcl5' }))).toEqual({ instruments: ['phq9', 'gad7', 'pcl5'] });
  });

  test('kap action --help lists every action with its roles and an example', () => {
    const help = actionsHelp();
    for (const a of ACTION_NAMES) expect(help).toContain(`  ${a.padEnd(21)}${ACTIONS[a].summary}`);
    expect(help).toContain('fields: stepKey* atMinutes* bloodPressure* heartRate spo2');
  });
});
