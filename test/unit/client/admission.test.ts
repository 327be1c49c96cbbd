// Enrollment admission shared by clinic (src/client/admission.ts admissionDecision): under the limit
// everyone is admitted; at the limit a clinic below an even share of it among the clinics waiting is
// still admitted, the clinic that filled the backlog is not, and nothing passes twice the limit.
import { admissionDecision } from '../../../src/client/admission';

const w = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('admission shared by clinic', () => {
  test('under the limit every clinic is admitted, the importing one included', () => {
    expect(admissionDecision(w({ a: 49 }), 'a', 50)).toEqual({ admit: true, total: 49, own: 49, share: 50 });
    expect(admissionDecision(w({}), 'a', 50).admit).toBe(true);
  });

  test("at the limit one clinic's import is refused and another clinic's single enrollment is admitted", () => {
    expect(admissionDecision(w({ a: 50 }), 'a', 50)).toEqual({ admit: false, total: 50, own: 50, share: 50 });
    // b has nothing waiting: two clinics share the limit, 25 each.
    expect(admissionDecision(w({ a: 50 }), 'b', 50)).toEqual({ admit: true, total: 50, own: 0, share: 25 });
    expect(admissionDecision(w({ a: 50, b: 24 }), 'b', 50).admit).toBe(true);
    expect(admissionDecision(w({ a: 50, b: 25 }), 'b', 50)).toEqual({ admit: false, total: 75, own: 25, share: 25 });
    // a stays refused while b has its share.
    expect(admissionDecision(w({ a: 50, b: 1 }), 'a', 50).admit).toBe(false);
  });

  test('the share counts the clinics with courses waiting; a clinic counted at zero is not one of them', () => {
    expect(admissionDecision(w({ a: 40, b: 10, c: 0 }), 'd', 50).share).toBe(16);
    expect(admissionDecision(w({ a: 40, b: 10 }), 'b', 50)).toEqual({ admit: true, total: 50, own: 10, share: 25 });
    expect(admissionDecision(w({ a: 40, b: 10 }), 'a', 50).admit).toBe(false);
  });

  test('never past twice the limit in all, and a share is at least one course', () => {
    const many = w(Object.fromEntries(Array.from({ length: 99 }, (_, i) => [`c${i}`, 1])));
    expect(admissionDecision(many, 'new', 50)).toEqual({ admit: true, total: 99, own: 0, share: 1 });
    many.set('c99', 1);
    expect(admissionDecision(many, 'new', 50)).toEqual({ admit: false, total: 100, own: 0, share: 1 });
  });

  test('a limit of 0 never refuses', () => {
    expect(admissionDecision(w({ a: 1_000 }), 'a', 0).admit).toBe(true);
  });
});
