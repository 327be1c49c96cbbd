// A note to the care team (care-team-note): a timeline event with its author and the note shortened,
// on any course state that still runs; it notifies nobody and changes nothing else.
import type { ActorRef } from '../../../../src/workflows/messages';
import { Course, DAY, NO_HARD_STOPS, NO_REVIEW_ITEMS, rows } from './helpers';

const THERAPIST: ActorRef = { staffId: 'staff-t', role: 'therapist', label: 'T Therapist' };

describe('care-team-note', () => {
  test('records care-team.note with the author and the note (trimmed, shortened to 200 characters); nobody is notified; nothing else changes', () => {
    const c = new Course();
    c.out();
    const before = JSON.stringify({ ...c.m.state, counters: undefined });
    expect(c.act('care-team-note', { note: '  Client asked to move sessions to mornings.  ' }, THERAPIST).outcome).toBe('recorded');
    const out = c.out();
    expect(rows(out, 'event')).toEqual([
      expect.objectContaining({ type: 'care-team.note', stepKey: null, actorType: 'staff', actorId: 'staff-t', detail: { summary: 'Note to the care team: Client asked to move sessions to mornings.', notesSummary: 'Client asked to move sessions to mornings.' } }),
    ]);
    expect(out.notifications).toEqual([]);
    expect(out.startAssessments).toEqual([]);
    expect(JSON.stringify({ ...c.m.state, counters: undefined })).toBe(before);

    const long = `${'word '.repeat(399)}end`;
    c.act('care-team-note', { note: long, stepKey: 'screening' }, THERAPIST);
    const [e] = rows(c.out(), 'event');
    expect(e).toMatchObject({ stepKey: 'screening' });
    expect((e!.detail as { notesSummary: string }).notesSummary).toHaveLength(200);
    expect(JSON.stringify(e)).not.toContain('end');
  });

  test('the note is required (1 to 2000 characters after trimming); a step must be one of the course', () => {
    const c = new Course();
    expect(c.reject('care-team-note', { note: '   ' }, THERAPIST)).toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(/^care-team-note: note: /) });
    expect(c.reject('care-team-note', { note: 'x'.repeat(2001) }, THERAPIST).reasons.map((r) => r.code)).toEqual(['note']);
    expect(c.reject('care-team-note', {}, THERAPIST).reasons.map((r) => r.code)).toEqual(['note']);
    expect(c.reject('care-team-note', { note: 'hello', stepKey: 'dose-99' }, THERAPIST)).toMatchObject({ type: 'InvalidInput', message: 'unknown step dose-99' });
    expect(c.reject('care-team-note', { note: 'hello', recipients: ['all'] }, THERAPIST).reasons.map((r) => r.code)).toEqual(['recipients']);
  });

  test('allowed while paused; refused once the course has ended', () => {
    const c = new Course();
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    c.act('pause', { reason: 'client travelling' });
    expect(c.act('care-team-note', { note: 'Back on the 12th.' }, THERAPIST).outcome).toBe('recorded');
    c.act('withdraw', { reason: 'moved away' });
    c.advance(DAY);
    expect(c.reject('care-team-note', { note: 'late' }, THERAPIST).type).toBe('InvalidTransition');
  });
});
