import { assertClientSafe, ClinicalDetailError, clientSafeName, findForbiddenTerms } from '../../../src/mail/guard';

describe('clinical-detail guard for client email', () => {
  test.each([
    ['Your ketamine session is tomorrow', 'ketamine'],
    ['Your KETAMINE session', 'ketamine'],
    ['Esketamine nasal spray', 'esketamine'],
    ['Bring your Spravato card', 'spravato'],
    ['Your depression check-in', 'depression'],
    ['for depressive symptoms', 'depression'],
    ['PTSD follow-up', 'ptsd'],
    ['post-traumatic stress', 'post-traumatic'],
    ['suicidal thoughts', 'suicide'],
    ['Suicide prevention', 'suicide'],
    ['Your PHQ-9 result', 'phq'],
    ['your score was 14', 'score'],
    ['dose: 56 mg', 'mg'],
    ['k e t a m i n e', 'ketamine'],
    ['ke\u200btamine', 'ketamine'],
    ['<b>Ket</b>amine', 'ketamine'],
    ['Kétamine', 'ketamine'],
  ])('finds %j', (text, term) => {
    expect(findForbiddenTerms(text)).toContain(term);
  });

  test.each([
    'This is a reminder of your appointment on Tuesday at 10:00 AM.',
    'Do not eat for 4 hours before your session.',
    'Arrange for an adult to drive you home afterwards.',
    'A short check-in from your care team',
    'If you need urgent help at any time, call your local emergency number.',
    'Plan to stay with us for about 2 hours.',
  ])('passes %j', (text) => {
    expect(findForbiddenTerms(text)).toEqual([]);
  });

  test('assertClientSafe throws naming the terms and fields, never the text', () => {
    let err: unknown;
    try {
      assertClientSafe({ subject: 'Reminder', text: 'Your Spravato session and PHQ-9', html: '<p>fine</p>' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ClinicalDetailError);
    const e = err as ClinicalDetailError;
    expect(e.terms.sort()).toEqual(['phq', 'spravato']);
    expect(e.where).toEqual(['text']);
    expect(e.message).not.toContain('session');
  });

  test('assertClientSafe passes clean parts and ignores empty ones', () => {
    expect(() => assertClientSafe({ subject: 'Reminder: your appointment', text: 'See you soon', html: undefined })).not.toThrow();
  });

  test('a clinic name that discloses treatment is replaced for clients', () => {
    expect(clientSafeName('Riverside Ketamine Clinic')).toBe('your care team');
    expect(clientSafeName('Riverside Wellness')).toBe('Riverside Wellness');
    expect(clientSafeName(null)).toBe('your care team');
  });
});
