// `kap simulate`: synthetic clients driven through the real engine over its public HTTP API, with a
// realistic mix of paths, ending in a summary of final states against what each profile predicts.
//   kap simulate --clients 30 --protocol kap-office --time-scale 86400 --seed 1 [--json]
//                [--url http://127.0.0.1:3000] [--token T | KAP_TOKEN] [--concurrency 8]
// Synthetic clients answer their questionnaires from the emailed link, as a client would (no dose goes
// ahead without the client's own C-SSRS and PHQ-9; this needs the embedded mail sink): the baseline,
// the post-course assessment and the follow-ups, with PHQ-9, GAD-7 and PCL-5 scores from a seeded
// trajectory (./simulate-trajectory.ts: baseline severity, a response curve with noise, some
// non-responders), so a simulated clinic's outcomes page has real figures. A follow-up whose form
// closes before the client gets to it expires as missed, as in a clinic. Safety
// escalations come from a risk the clinician raises at check-in. Timed readings wait for their time.
import { HARD_STOPS, REVIEW_ITEMS } from '../../domain/rules/eligibility';
import { mulberry32 } from '../../prng';
import { clientTrajectory, itemAnswers, scoreAt, TRAJECTORY_INSTRUMENTS, type ClientTrajectory, type TimePoint, type TrajectoryInstrument } from './simulate-trajectory';
import type { Command } from 'commander';
import type { Protocol } from '../../domain/protocol';

export type Profile = 'completes' | 'ineligible' | 'bp-hold' | 'no-show' | 'safety-escalation' | 'withdraws';

/** Share of each profile; the rest completes. Expected final course status per profile. */
export const PROFILE_MIX: ReadonlyArray<{ profile: Profile; share: number; expect: string }> = [
  { profile: 'ineligible', share: 0.1, expect: 'ineligible' },
  { profile: 'bp-hold', share: 0.15, expect: 'completed' },
  { profile: 'no-show', share: 0.1, expect: 'completed' },
  { profile: 'safety-escalation', share: 0.03, expect: 'withdrawn' },
  { profile: 'withdraws', share: 0.07, expect: 'withdrawn' },
];
const EXPECT: Record<Profile, string> = { completes: 'completed', ...Object.fromEntries(PROFILE_MIX.map((p) => [p.profile, p.expect])) } as Record<Profile, string>;

/** Deterministic PRNG so a seed always gives the same synthetic clinic. */
export const rng = mulberry32;

/** Assigns profiles: exact counts from the shares (rounded, at least one where the share allows), shuffled by seed. */
export function assignProfiles(n: number, seed: number): Profile[] {
  const out: Profile[] = [];
  for (const { profile, share } of PROFILE_MIX) {
    const k = Math.round(n * share) || (n * share >= 0.5 ? 1 : 0);
    for (let i = 0; i < k && out.length < n; i++) out.push(profile);
  }
  while (out.length < n) out.push('completes');
  const r = rng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const HARD_STOP_IDS = Object.keys(HARD_STOPS);
const CHECKLIST = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Api {
  constructor(
    readonly base: string,
    readonly token: string | undefined,
  ) {}
  async call<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(`${this.base}${url}`, {
          method,
          headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
        const text = await res.text();
        // Back-pressure (enrollment admission): 503 with Retry-After wrote nothing; wait as told and send it again.
        const retryAfter = Number(res.headers.get('retry-after'));
        if (res.status === 503 && Number.isFinite(retryAfter) && retryAfter > 0 && attempt < 30) {
          await sleep(Math.min(30, retryAfter) * 1000);
          continue;
        }
        return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(200 * (attempt + 1));
      }
    }
  }
  async ok<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<T> {
    const r = await this.call<T>(method, url, body);
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

interface ProtocolInfo {
  id: string;
  preparationSessions: number;
  dosingSessions: number;
  minDaysBetweenDoses: number;
  rems: boolean;
  route: string;
  checkMinutes: number[];
  /** The baseline instruments the client answers at screening. */
  baseline: string[];
  /** The post-course assessment's instruments ([] when the protocol has no such step). */
  afterCourse: string[];
  /** The follow-up assessments after the course ([] when the protocol has no follow-up step). */
  followUps: Array<{ days: number; instruments: string[] }>;
  /** How long an assessment's link stays open, in protocol hours. */
  expiryHours: number;
}

/** Reads what the driver needs from the course's own state (the protocol is pinned in the workflow). */
async function protocolInfo(api: Api, courseId: string, protocolId: string, definition?: Protocol): Promise<ProtocolInfo> {
  const course = await api.ok<{ steps?: Array<{ key: string; kind: string }> }>('GET', `/api/courses/${courseId}`);
  void course;
  // The protocol the courses follow: the one given (a rehearsed draft), else the shipped one by id.
  const { getProtocol } = await import('../../domain');
  const p = definition ?? getProtocol(protocolId)!;
  return {
    id: p.id,
    preparationSessions: p.course.preparationSessions,
    dosingSessions: p.course.dosingSessions,
    minDaysBetweenDoses: p.course.minDaysBetweenDoses,
    rems: !!p.rems,
    route: p.routes[0]!,
    checkMinutes: p.safety.bloodPressure.checkMinutes.filter((m): m is number => typeof m === 'number' && m > 0),
    baseline: [...p.assessments.baseline],
    afterCourse: p.phases.some((ph) => ph.steps.some((s) => s.assessmentPoint === 'after-course')) ? [...p.assessments.afterCourse] : [],
    followUps: p.phases.some((ph) => ph.steps.some((s) => s.assessmentPoint === 'follow-up')) ? p.assessments.followUps.map((f) => ({ days: f.afterCourseDays, instruments: [...f.instruments] })) : [],
    expiryHours: p.assessments.expiryHours,
  };
}

/** Form answers of a client doing well, per instrument, as the client page posts them. */
const BENIGN_FORM: Record<string, Record<string, string>> = {
  phq9: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`phq9.${i + 1}`, i === 8 ? '0' : '1'])),
  gad7: Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`gad7.${i + 1}`, '1'])),
  pcl5: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`pcl5.${i + 1}`, '1'])),
  cssrs: { 'cssrs.1': 'false', 'cssrs.2': 'false', 'cssrs.6': 'false' },
  'qids-sr16': Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`qids-sr16.${i + 1}`, '0'])),
};

/** The form a synthetic client posts: PHQ-9, GAD-7 and PCL-5 from the client's trajectory at that time point, the rest benign. */
export function clientForm(t: ClientTrajectory, instruments: readonly string[], point: TimePoint): Record<string, string> {
  const isTrajectory = (i: string): i is TrajectoryInstrument => (TRAJECTORY_INSTRUMENTS as readonly string[]).includes(i);
  return Object.assign({}, ...instruments.map((i) => (isTrajectory(i) ? itemAnswers(i, scoreAt(t, i, point)) : (BENIGN_FORM[i] ?? {})))) as Record<string, string>;
}

/**
 * The synthetic client opens the emailed link of a step's assessment and answers every question.
 * False when the link had closed first (at a high time scale a form expires within a second or so),
 * or when `stop()` says to give up waiting.
 */
async function answerAsClient(api: Api, courseId: string, stepKey: string, answers: Record<string, string>, timeoutMs: number, opts: { pollMs?: number; stop?: () => boolean } = {}): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  const key = `${courseId}/${stepKey}/invitation`;
  for (;;) {
    const box = await api.ok<{ embeddedSink: boolean; items: Array<{ key: string; sinkMessageId: number | null }> }>('GET', `/api/outbox?courseId=${encodeURIComponent(courseId)}`);
    const row = box.items.find((i) => i.key === key && i.sinkMessageId !== null);
    if (row) {
      const msg = await api.ok<{ text: string | null; html: string | null }>('GET', `/api/outbox/${row.sinkMessageId}`);
      const token = /\/a\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(`${msg.text ?? ''} ${msg.html ?? ''}`)?.[1];
      if (!token) throw new Error(`no assessment link in the invitation ${key}`);
      const form = new URLSearchParams(answers);
      const res = await fetch(`${api.base}/a/${token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      if (res.status === 410) return false;
      if (res.status !== 200) throw new Error(`answering ${key}: ${res.status}`);
      // The form may close while the answers go in: part of them not recorded.
      return !(await res.text()).includes('could not be recorded');
    }
    if (opts.stop?.()) return false;
    if (Date.now() > until) throw new Error(`timed out waiting for the invitation ${key}${box.embeddedSink ? '' : ': kap simulate answers the baseline as the clients, from their emailed links, read from the embedded mail sink (SMTP_URL unset)'}`);
    await sleep(opts.pollMs ?? 100);
  }
}

/** Posts an action, retrying while it is refused only because its time has not come (a timed reading, discharge). */
async function whenDue(api: Api, url: string, body: unknown): Promise<void> {
  for (;;) {
    const res = await api.call<{ message?: string }>('POST', url, body);
    if (res.status < 300) return;
    if (res.status !== 422 || !/min left/.test(String(res.body.message ?? ''))) throw new Error(`POST ${url}: ${res.status} ${JSON.stringify(res.body)}`);
    await sleep(50); // its time has not come yet (scaled)
  }
}

async function waitForStep(api: Api, courseId: string, key: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const c = await api.ok<{ status: string; steps?: Array<{ key: string; state: string }> }>('GET', `/api/courses/${courseId}`);
    if (c.steps?.some((s) => s.key === key && (s.state === 'open' || s.state === 'overdue'))) return;
    if (c.status !== 'active' && c.status !== 'paused') throw new Error(`course ended (${c.status}) while waiting for ${key}`);
    if (Date.now() > until) throw new Error(`timed out waiting for ${key}`);
    await sleep(100);
  }
}

/** What a course's driver needs besides the course: the client's trajectory, and where to leave the follow-ups it answers in the background. */
interface ClientSide {
  trajectory: ClientTrajectory;
  /** Real milliseconds between looks at the outbox for a follow-up's invitation. */
  followUpPollMs: number;
  /** Real milliseconds in a protocol day (the time scale). */
  msPerDay: number;
  background: Array<Promise<void>>;
  stop: () => boolean;
}

async function driveCourse(api: Api, courseId: string, profile: Profile, p: ProtocolInfo, r: () => number, timeoutMs: number, tick: () => void, client: ClientSide): Promise<void> {
  const form = (instruments: readonly string[], point: TimePoint) => clientForm(client.trajectory, instruments, point);
  const act = (action: string, body: unknown) => api.ok('POST', `/api/courses/${courseId}/${action}`, body);
  await waitForStep(api, courseId, 'screening', timeoutMs);
  const hardStops = Object.fromEntries(HARD_STOP_IDS.map((h) => [h, false]));
  if (profile === 'ineligible') hardStops[HARD_STOP_IDS[Math.floor(r() * HARD_STOP_IDS.length)]!] = true;
  // The client answers the baseline from the emailed link before the coordinator records screening. If
  // it closed before they did, the coordinator sends a new C-SSRS and PHQ-9, as a clinic would.
  let answered = await answerAsClient(api, courseId, 'screening', form(p.baseline, { kind: 'baseline' }), timeoutMs);
  for (let attempt = 0; !answered && attempt < 5; attempt++) {
    const sent = (await api.ok<{ ids?: { assessmentId?: string } }>('POST', `/api/courses/${courseId}/send-assessment`, { instruments: ['cssrs', 'phq9'], reason: 'baseline not answered in time' })).ids?.assessmentId;
    if (!sent) throw new Error('sending a new baseline C-SSRS and PHQ-9 gave no assessment id');
    answered = await answerAsClient(api, courseId, sent.slice(sent.lastIndexOf('/') + 1), form(['cssrs', 'phq9'], { kind: 'baseline' }), timeoutMs);
  }
  if (!answered) throw new Error('the client could not answer a baseline before it expired (time scale too high for answers through the link)');
  await act('screening', { hardStops, reviewItems: Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false])) });
  tick();
  if (profile === 'ineligible') return;
  await act('clearance', { decision: 'approved' });
  if (p.rems) await act('rems-enrollment', { enrolled: true });
  await act('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  tick();
  const withdrawAt = profile === 'withdraws' ? 1 + Math.floor(r() * p.dosingSessions) : -1;
  let courseEndAt = 0;
  for (let n = 1; n <= p.preparationSessions; n++) {
    await act('schedule', { stepKey: `prep-${n}`, startsInHours: 48 });
    if (profile === 'no-show' && n === 1) {
      await act('no-show', { stepKey: `prep-${n}` });
      await act('schedule', { stepKey: `prep-${n}`, startsInHours: 24 });
    }
    await act('session-complete', { stepKey: `prep-${n}` });
  }
  tick();
  for (let n = 1; n <= p.dosingSessions; n++) {
    const dose = `dose-${n}`;
    if (n === withdrawAt) {
      await act('withdraw', { reason: 'synthetic: client chose to stop' });
      return;
    }
    await waitForStep(api, courseId, dose, timeoutMs);
    await act('schedule', { stepKey: dose, startsInHours: Math.max(p.minDaysBetweenDoses * 24, 48) });
    const check = { bloodPressure: { systolic: 122, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative', cssrsRisk: 'none', phq9Item9: 0 };
    if (profile === 'safety-escalation' && n === 2) {
      await act('pre-dose-check', { stepKey: dose, ...check, phq9Item9: 2, cssrsRisk: 'high' });
      await act('safety-review', { outcome: 'withdraw', notes: 'synthetic: referred to a higher level of care' });
      return;
    }
    if (profile === 'bp-hold' && n === 1) {
      const held = await act('pre-dose-check', { stepKey: dose, ...check, bloodPressure: { systolic: 150, diastolic: 96 } });
      if (held.outcome !== 'hold') throw new Error(`expected a blood-pressure hold, got ${String(held.outcome)}`);
    }
    let ok = await act('pre-dose-check', { stepKey: dose, ...check });
    // Held only for the client's own C-SSRS / PHQ-9 (the answers not heard yet, or the form closed
    // before the client finished it): the coordinator sends a new one and the client answers it.
    const answersOnly = (r: Record<string, unknown>) => ((r.reasons ?? []) as Array<{ code: string; blocking: boolean }>).filter((x) => x.blocking).every((x) => ['baseline-missing', 'cssrs-missing', 'phq9-missing'].includes(x.code));
    for (let attempt = 0; ok.outcome !== 'proceed' && answersOnly(ok) && attempt < 5; attempt++) {
      await sleep(300);
      ok = await act('pre-dose-check', { stepKey: dose, ...check });
      if (ok.outcome === 'proceed' || !answersOnly(ok)) break;
      const sent = (await api.ok<{ ids?: { assessmentId?: string } }>('POST', `/api/courses/${courseId}/send-assessment`, { instruments: ['cssrs', 'phq9'], reason: 'C-SSRS and PHQ-9 before the dose' })).ids?.assessmentId;
      if (sent) await answerAsClient(api, courseId, sent.slice(sent.lastIndexOf('/') + 1), form(['cssrs', 'phq9'], { kind: 'dose', n, of: p.dosingSessions }), timeoutMs);
    }
    if (ok.outcome !== 'proceed') throw new Error(`pre-dose check held: ${JSON.stringify(ok.reasons)}`);
    await act('dose', { stepKey: dose, route: p.route, doseMg: 56, lotNumber: 'SIM-1' });
    for (const m of p.checkMinutes) await whenDue(api, `/api/courses/${courseId}/vitals`, { stepKey: dose, atMinutes: m, bloodPressure: { systolic: 130, diastolic: 82 }, spo2: 98 });
    await whenDue(api, `/api/courses/${courseId}/discharge`, { stepKey: dose, bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true });
    courseEndAt = Date.now(); // the last discharge ends the course: the follow-ups count from it
    await act('session-complete', { stepKey: `integration-${n}` });
    if (p.rems) {
      await act('rems-form', { stepKey: `rems-form-${n}`, doseMg: 56, lotNumber: 'SIM-1', concomitant: { benzodiazepines: false, sedativeHypnotics: false, psychostimulants: false, maois: false, opioids: false }, sedation: false, dissociation: true, respiratoryDepression: false, seriousAdverseEvent: false });
    }
    tick();
  }
  // The client answers the post-course assessment from its link (if it closes first, it is missed).
  if (p.afterCourse.length) await answerAsClient(api, courseId, 'post-course-assessment', form(p.afterCourse, { kind: 'post-course' }), timeoutMs, { stop: client.stop }).catch(() => false);
  await waitForStep(api, courseId, 'maintenance-decision', timeoutMs);
  await act('maintenance-decision', { decision: 'complete' });
  tick();
  // The follow-ups come on the engine's timers (30, 90, 180 days, scaled): answered in the background
  // as each invitation arrives, so this worker moves on to the next course.
  if (p.followUps.length) {
    client.background.push(
      (async () => {
        for (const f of p.followUps) {
          // Nothing to look for until the follow-up is nearly due: a big clinic does not poll for months.
          while (!client.stop() && Date.now() < courseEndAt + 0.8 * f.days * client.msPerDay) await sleep(Math.min(1000, courseEndAt + 0.8 * f.days * client.msPerDay - Date.now()));
          if (client.stop()) return;
          await answerAsClient(api, courseId, `followup-${f.days}d`, form(f.instruments, { kind: 'follow-up', days: f.days }), timeoutMs, { pollMs: client.followUpPollMs, stop: client.stop }).catch(() => false);
        }
      })(),
    );
  }
}

export interface SimulateOptions {
  clients: number;
  protocol: string;
  timeScale: number;
  seed: number;
  json?: boolean;
  url: string;
  token?: string;
  concurrency: number;
  /** A rehearsal (src/client/protocol-rehearsal.ts): the sandbox clinic to enroll in (not created here), and the draft it runs. */
  rehearsal?: { clinicId: string; definition: Protocol };
}

export async function simulate(opts: SimulateOptions, err: NodeJS.WritableStream = process.stderr): Promise<{ ok: boolean; summary: unknown }> {
  const api = new Api(opts.url.replace(/\/$/, ''), opts.token);
  const r = rng(opts.seed);
  const profiles = assignProfiles(opts.clients, opts.seed);
  const clinicId = opts.rehearsal?.clinicId ?? `sim-${opts.seed}-${Date.now().toString(36)}`;
  if (!opts.rehearsal) await api.ok('POST', '/api/clinics', { id: clinicId, name: `Simulation seed ${opts.seed}` });
  const runs: Array<{ n: number; profile: Profile; courseId: string; clientId: string; error?: string; final?: string; endReason?: string | null }> = [];
  for (const [i, profile] of profiles.entries()) {
    const client = await api.ok<{ id: string }>('POST', '/api/clients', { clinicId, givenName: 'Synthetic', familyName: `Client ${i + 1}`, email: `sim-${opts.seed}-${i + 1}@example.org`, externalRef: opts.rehearsal ? `${clinicId}-${i + 1}:${profile}` : `${clinicId}-${i + 1}` });
    runs.push({ n: i + 1, profile, courseId: '', clientId: client.id });
  }
  // A course is enrolled when its driver takes it, not all at once: a course enrolled and left waiting
  // for a free driver would count that wait (protocol days at a high time scale) against its screening
  // step, and a rehearsal would report screening as late when the protocol is not.
  const enroll = async (run: (typeof runs)[number]) => {
    run.courseId = (await api.ok<{ id: string }>('POST', `/api/clients/${run.clientId}/courses`, { protocolId: opts.protocol, timeScale: opts.timeScale })).id;
  };
  await enroll(runs[0]!);
  const info = await protocolInfo(api, runs[0]!.courseId, opts.protocol, opts.rehearsal?.definition);
  // Progress: every milestone of every course, then waiting for the courses to end. On a terminal a
  // bar redrawn in place; otherwise (a pipe, a log file, CI) no frames, a line per phase instead.
  const perCourse = info.dosingSessions + 5;
  const total = runs.length * perCourse;
  const ticks = new Map<string, number>();
  const done = () => [...ticks.values()].reduce((a, n) => a + n, 0);
  const tty = !!(err as NodeJS.WriteStream).isTTY;
  const bar = (what: string) => {
    if (!tty) return;
    const w = 30;
    const f = Math.min(w, Math.round((done() / total) * w));
    err.write(`\r[${'#'.repeat(f)}${'.'.repeat(w - f)}] ${Math.min(100, Math.round((done() / total) * 100))}% ${runs.filter((x) => x.final).length}/${runs.length} ended; ${what}\x1b[K`);
  };
  const tickFor = (courseId: string) => () => {
    ticks.set(courseId, Math.min(perCourse, (ticks.get(courseId) ?? 0) + 1));
    bar('recording the staff actions');
  };
  const timeoutMs = Math.max(120_000, (400 * 86_400_000) / opts.timeScale);
  if (!tty) err.write(`${runs.length} synthetic clients in clinic ${clinicId}; enrolling ${opts.protocol} courses and recording every staff action, ${Math.max(1, opts.concurrency)} courses at once\n`);
  // A follow-up's link is open for expiryHours (scaled): look for its invitation a few times in that window.
  const followUpPollMs = Math.min(2000, Math.max(100, (info.expiryHours * 3_600_000) / opts.timeScale / 6));
  const background: Array<Promise<void>> = [];
  let stopAnswering = false;
  let next = 0;
  const worker = async () => {
    while (next < runs.length) {
      const run = runs[next++]!;
      try {
        if (!run.courseId) await enroll(run);
        await driveCourse(api, run.courseId, run.profile, info, r, timeoutMs, tickFor(run.courseId), { trajectory: clientTrajectory(opts.seed, run.n), followUpPollMs, msPerDay: 86_400_000 / opts.timeScale, background, stop: () => stopAnswering });
      } catch (e) {
        run.error = e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  const failed = runs.filter((x) => x.error).length;
  if (!tty) err.write(`staff actions recorded${failed ? ` (${failed} course${failed === 1 ? '' : 's'} stopped with an error)` : ''}; waiting for every course to end\n`);
  // Wait for every course to end: after the last session the engine's own timers run the follow-up
  // assessments (30, 90 and 180 days, scaled), which synthetic clients leave to expire unanswered.
  const until = Date.now() + timeoutMs;
  let said = '';
  let saidAt = 0;
  for (;;) {
    const waiting: Array<{ step: string | null; deadline: string | null }> = [];
    for (const run of runs.filter((x) => !x.final)) {
      const c = await api.ok<{ status: string; endedAt: string | null; endReason: string | null; currentStep: string | null; currentStepDeadline: string | null }>('GET', `/api/courses/${run.courseId}`);
      if (c.endedAt) {
        run.final = c.status;
        run.endReason = c.endReason;
        ticks.set(run.courseId, perCourse);
      } else waiting.push({ step: c.currentStep, deadline: c.currentStepDeadline });
    }
    const note = waitingFor(waiting);
    bar(note);
    // Off a terminal: a line when what it waits for changes, or every 30 s.
    const key = note.replace(/; the next due in .*$/, '');
    if (!tty && waiting.length && (key !== said || Date.now() - saidAt > 30_000)) {
      err.write(`${runs.length - waiting.length}/${runs.length} courses ended; ${note}\n`);
      said = key;
      saidAt = Date.now();
    }
    if (runs.every((x) => x.final) || Date.now() > until) break;
    await sleep(500);
  }
  stopAnswering = true;
  await Promise.all(background);
  const open = runs.filter((x) => !x.final).length;
  err.write(`${tty ? '\n' : ''}${open ? `gave up waiting after ${Math.round(timeoutMs / 1000)} s: ${open} course${open === 1 ? '' : 's'} still open` : `all ${runs.length} courses ended`}\n`);
  const byProfile: Record<string, { expected: string; count: number; matched: number; finals: Record<string, number> }> = {};
  for (const run of runs) {
    const s = (byProfile[run.profile] ??= { expected: EXPECT[run.profile], count: 0, matched: 0, finals: {} });
    s.count++;
    const final = run.final ?? 'unfinished';
    s.finals[final] = (s.finals[final] ?? 0) + 1;
    if (final === EXPECT[run.profile]) s.matched++;
  }
  const mismatches = runs.filter((x) => x.final !== EXPECT[x.profile]).map((x) => ({ n: x.n, courseId: x.courseId, profile: x.profile, expected: EXPECT[x.profile], final: x.final ?? 'unfinished', endReason: x.endReason ?? null, error: x.error ?? null }));
  const summary = { clinicId, protocol: opts.protocol, clients: opts.clients, timeScale: opts.timeScale, seed: opts.seed, byProfile, matched: runs.length - mismatches.length, mismatches };
  return { ok: mismatches.length === 0, summary };
}

/** What the open courses wait for: "waiting for 12 courses at followup-90d ×8, followup-180d ×4 (...)". */
export function waitingFor(waiting: Array<{ step: string | null; deadline: string | null }>, now = Date.now()): string {
  if (!waiting.length) return 'every course has ended';
  const bySteps = new Map<string, number>();
  for (const w of waiting) bySteps.set(w.step ?? 'starting', (bySteps.get(w.step ?? 'starting') ?? 0) + 1);
  const steps = [...bySteps.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(', ');
  const follow = [...bySteps.keys()].every((k) => /^followup-|^post-course/.test(k));
  const next = waiting.map((w) => (w.deadline ? Date.parse(w.deadline) : NaN)).filter((t) => !Number.isNaN(t)).sort((a, b) => a - b)[0];
  const due = next === undefined ? '' : `; the next due in ${Math.max(0, Math.round((next - now) / 1000))} s`;
  return `waiting for ${waiting.length} course${waiting.length === 1 ? '' : 's'} at ${steps}${follow ? " (follow-up assessments on the engine's timers, answered by the synthetic clients from their emailed links)" : ''}${due}`;
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description('Drive synthetic clients through the engine over its HTTP API and compare final states with each profile')
    .option('--clients <n>', 'number of synthetic clients', '30')
    .option('--protocol <id>', 'protocol id', 'kap-office')
    .option('--time-scale <s>', 'protocol days per real day (86400 = a day per second)', '86400')
    .option('--seed <k>', 'random seed', '1')
    .option('--concurrency <n>', 'courses driven at once', '8')
    .option('--url <url>', 'engine URL (env KAP_URL, default PUBLIC_URL or http://127.0.0.1:3000)')
    .option('--token <token>', 'API token (default: KAP_TOKEN)')
    .option('--json', 'print the summary as JSON')
    .action(async (o: { clients: string; protocol: string; timeScale: string; seed: string; concurrency: string; url?: string; token?: string; json?: boolean }) => {
      const { ok, summary } = await simulate({
        clients: Number(o.clients),
        protocol: o.protocol,
        timeScale: Number(o.timeScale),
        seed: Number(o.seed),
        concurrency: Number(o.concurrency),
        // The same engine as every other command: --url, else KAP_URL, else PUBLIC_URL, else the default port.
        url: o.url ?? process.env.KAP_URL ?? process.env.PUBLIC_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`,
        token: o.token ?? process.env.KAP_TOKEN,
        json: o.json,
      });
      if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else {
        const s = summary as { byProfile: Record<string, { expected: string; count: number; matched: number; finals: Record<string, number> }>; matched: number; clients: number };
        for (const [profile, v] of Object.entries(s.byProfile)) process.stdout.write(`${profile.padEnd(18)} ${String(v.count).padStart(3)} expected ${v.expected.padEnd(10)} got ${JSON.stringify(v.finals)}\n`);
        process.stdout.write(`${s.matched}/${s.clients} courses ended as their profile predicts\n`);
      }
      if (!ok) process.exitCode = 1;
    });
}
