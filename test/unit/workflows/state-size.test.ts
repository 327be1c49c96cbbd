// The course's carried state stays bounded: it is what crosses continue-as-new and what every workflow
// task holds. A session's readings and a finished assessment's results are folded once no decision
// reads them (they are in the vitals and assessment rows); what the discharge rule, the REMS form and
// the baseline and risk checks read stays. Figures in src/workflows/README.md ("Carried state").
import { Course, DISCHARGE, GOOD_CHECK, REMS_FORM, type ProtocolId } from './machine/helpers';

const size = (c: Course) => JSON.stringify(c.m.state).length;
const readingsLeft = (c: Course) => Object.values(c.m.state.steps).reduce((n, s) => n + (s.session?.readings.length ?? 0) + (s.session?.reminders.length ?? 0), 0);

/** A course whose staff record everything many times over: 20 readings at every check time and at minutes the protocol does not check, 10 ad-hoc assessments. */
class BusyCourse extends Course {
  static readonly EXTRA = 20;
  override doseDay(stepKey: string, inHours = 48): this {
    this.scheduledDose(stepKey, inHours);
    this.act('pre-dose-check', { stepKey, ...GOOD_CHECK });
    this.act('dose', { stepKey, route: this.p.routes[0]!, doseMg: 56, lotNumber: 'L1' });
    const doseAt = this.now;
    for (const at of [5, 10, ...this.p.safety.bloodPressure.checkMinutes]) {
      if (typeof at !== 'number' || at === 0) continue;
      this.wakeUntil(doseAt + this.hours(at / 60));
      for (let k = 0; k < BusyCourse.EXTRA; k++) this.act('vitals', { stepKey, atMinutes: at, bloodPressure: { systolic: 120 + k, diastolic: 80 }, spo2: 97 });
    }
    // During the session: one reading per check time (the latest), none for minutes the protocol does not check.
    const checks = this.p.safety.bloodPressure.checkMinutes.filter((m) => m !== 'discharge');
    expect(this.m.state.steps[stepKey]!.session!.readings.map((r) => r.at).sort()).toEqual([...checks].sort());
    expect(this.m.state.steps[stepKey]!.session!.readings.find((r) => r.at === checks[checks.length - 1])!.systolic).toBe(120 + BusyCourse.EXTRA - 1);
    this.wakeUntil(doseAt + this.hours(this.p.safety.minMonitoringMinutes / 60));
    expect(this.act('discharge', { stepKey, ...DISCHARGE }).outcome).toBe('discharged');
    return this;
  }
  override intake(): this {
    super.intake();
    for (let n = 1; n <= 10; n++) {
      this.act('send-assessment', { instruments: ['gad7', 'pcl5', 'phq9'] });
      this.finish(`adhoc-${n}`);
    }
    return this;
  }
}

describe('carried state', () => {
  const figures: Record<string, { plain: number; busy: number }> = {};

  test.each<ProtocolId>(['kap-office', 'iv-series', 'spravato-rems'])('%s: a complete course ends with no readings or reminders carried, and recording more does not grow it but by the ad-hoc assessments', (id) => {
    const plain = new Course(id).complete();
    const busy = new BusyCourse(id).complete();
    expect(plain.m.finished && busy.m.finished).toBe(true);
    expect(readingsLeft(plain)).toBe(0);
    expect(readingsLeft(busy)).toBe(0);
    // Ten finished ad-hoc assessments carry their id, step, instruments, status, time and the PHQ-9 result: well under 400 bytes each.
    const adhoc = Object.values(busy.m.state.assessments).filter((a) => a.trigger === 'staff');
    expect(adhoc).toHaveLength(10);
    for (const a of adhoc) expect(a.results.map((r) => r.instrumentId)).toEqual(['phq9']);
    expect(size(busy) - size(plain)).toBeLessThan(10 * 400);
    figures[id] = { plain: size(plain), busy: size(busy) };
  });

  test('spravato-rems: the dose session keeps the readings its REMS form reads until the form is submitted', () => {
    const c = new Course('spravato-rems').readyToDose().record();
    c.doseDay('dose-1', 48);
    const ses = () => c.m.state.steps['dose-1']!.session!;
    expect(ses().readings.map((r) => r.at)).toEqual([0, 40, 'discharge']);
    expect(ses().reminders).toEqual([]);
    expect(ses().preDose).toMatchObject({ decision: 'proceed', reasons: [] });
    c.act('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM });
    expect(ses().readings).toEqual([]);
    const forms = c.all.records.filter((r) => r.table === 'rems-form');
    // Opened pre-filled from the session, then submitted: both rows carry the session's three readings.
    expect(forms.map((f) => f.table === 'rems-form' && [f.bpPre, f.bp40, f.bpDischarge, f.submittedAt !== null])).toEqual([
      ['122/78', '128/80', '124/80', false],
      ['122/78', '128/80', '124/80', true],
    ]);
  });

  afterAll(() => {
    // The figures the workflows README quotes (JSON.stringify(state).length at the end of the course).
    console.log(`carried state at the end of a complete course (bytes): ${JSON.stringify(figures)}`);
  });
});
