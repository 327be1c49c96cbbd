import { buildIcs, escapeText, foldLine } from '../../../src/mail/ics';

describe('ics', () => {
  const ev = {
    uid: 'abc@kap.local',
    start: new Date('2026-05-12T14:00:00Z'),
    end: new Date('2026-05-12T16:30:00Z'),
    summary: 'Appointment - Riverside, Wellness; Centre',
    location: 'Riverside Wellness',
    organizer: { name: 'Riverside Wellness', email: 'no-reply@kap.local' },
    stamp: new Date('2026-05-01T00:00:00Z'),
  };

  test('one VEVENT with UTC times, a stable UID and CRLF line ends', () => {
    const ics = buildIcs(ev);
    expect(ics).toContain('BEGIN:VEVENT\r\n');
    expect(ics.match(/BEGIN:VEVENT/g)).toHaveLength(1);
    expect(ics).toContain('UID:abc@kap.local\r\n');
    expect(ics).toContain('DTSTART:20260512T140000Z\r\n');
    expect(ics).toContain('DTEND:20260512T163000Z\r\n');
    expect(ics).toContain('SUMMARY:Appointment - Riverside\\, Wellness\\; Centre\r\n');
    expect(ics.endsWith('END:VCALENDAR\r\n')).toBe(true);
    expect(ics.replace(/\r\n/g, '')).not.toMatch(/\n/);
    expect(buildIcs(ev)).toBe(ics); // deterministic
  });

  test('escaping and folding', () => {
    expect(escapeText('a\\b;c,d\ne')).toBe('a\\\\b\\;c\\,d\\ne');
    const long = `DESCRIPTION:${'é'.repeat(100)}`;
    const folded = foldLine(long);
    for (const line of folded.split('\r\n')) expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(75);
    expect(folded.split('\r\n').map((l, i) => (i ? l.slice(1) : l)).join('')).toBe(long);
  });
});
