import { assertPasswordAllowed, commonPasswords, validatePassword } from '../../../src/auth/password-policy';
import { generatePassword } from '../../../src/auth/secrets';
import { AppError } from '../../../src/errors';
import { CreateStaffBody } from '../../../src/api/routes/staff';

const jane = { email: 'jane.doe@clinic.example', displayName: 'Jane Doe' };

describe('password policy', () => {
  test('ships the common-password list, most frequent first', () => {
    const list = commonPasswords();
    expect(list.size).toBeGreaterThanOrEqual(10_000);
    for (const p of ['123456', 'password', 'qwerty', 'iloveyou', 'letmein']) expect(list.has(p)).toBe(true);
  });

  test.each([
    ['short', 'at least 12 characters'],
    ['Tr0ub4dor&3', 'at least 12 characters'],
    ['            ', 'spaces'],
    ['password1234', 'most common'],
    ['PASSWORD1234', 'most common'],
    ['qwertyuiop12', 'most common'],
    ['1qaz2wsx3edc', 'most common'],
    ['baseball2024!', 'common password with a few characters added'],
    ['Sunshine#2026', 'common password with a few characters added'],
    ['p@ssw0rd1234', 'common password'],
    ['aaaaaaaaaaaa', 'repeated'],
    ['abcabcabcabc', 'repeated'],
    ['xkcdxkcdxkcd', 'repeated'],
    ['zyxwvutsrqpo', 'sequential'],
    ['abcd-wxyz-1234', 'sequential'],
    ['aaaa1111bbbb', 'sequential'],
    ['abababab1212', 'too few different characters'],
    ['jane.doe+kap-7Q', "email name"],
    ['xQ7-JaneDoe-vault', "email name"],
  ])('refuses %j (%s)', (password, reason) => {
    const why = validatePassword(password, jane);
    expect(why).not.toBeNull();
    expect(why).toContain(reason);
  });

  test("refuses the account's display name, in any case and spacing", () => {
    const owner = { email: 'jd@clinic.example', displayName: 'Margarethe Olsen' };
    expect(validatePassword('tide-MARGARETHE-7q', owner)).toBe("must not contain the account's name");
    expect(validatePassword('x9 margarethe olsen', owner)).toBe("must not contain the account's name");
    expect(validatePassword('olsen-tide-pool-7q', owner)).toBe("must not contain the account's name");
    expect(validatePassword('tide-pool-harbour-7q', owner)).toBeNull();
  });

  test('refuses the sequences the issue names', () => {
    for (const p of ['aaaaaaaaaaaa', '123456789012', 'abcabcabcabc', '098765432109']) expect(validatePassword(p)).not.toBeNull();
  });

  test.each(['correct horse battery staple', 'Xk9vR2-pL4mW-8nQ3t', 'kJ8#mQ2vLp9z', 'ketamine clinic 2026', 'dragon84720193', 'doe-family-trip'])('accepts %j', (password) => {
    expect(validatePassword(password, jane)).toBeNull();
  });

  test('every generated password passes (they are the fallback when none is chosen)', () => {
    for (let i = 0; i < 500; i++) {
      const p = generatePassword();
      expect([p, validatePassword(p, { email: 'admin@kap.local', displayName: 'Administrator' })]).toEqual([p, null]);
    }
  });

  test('a name or email part shorter than 3 (4 for parts) does not refuse everything that contains it', () => {
    expect(validatePassword('al-fresco-tango-91', { email: 'al@x.example', displayName: 'Al Li' })).toBeNull();
    expect(validatePassword('al-fresco-tango-91', { email: 'alf@x.example', displayName: 'Al Li' })).toContain('email');
  });

  test('assertPasswordAllowed throws a 400 naming the field', () => {
    expect(() => assertPasswordAllowed('password1234', jane, 'newPassword')).toThrow(AppError);
    try {
      assertPasswordAllowed('password1234', jane, 'newPassword');
    } catch (err) {
      expect((err as AppError).code).toBe('invalid_input');
      expect((err as AppError).problems).toEqual([{ field: 'newPassword', message: expect.stringContaining('common') }]);
    }
    expect(() => assertPasswordAllowed('correct horse battery staple', jane)).not.toThrow();
  });

  test('the staff body schema puts the reason on `password`', () => {
    const r = CreateStaffBody.safeParse({ email: 'jane.doe@clinic.example', displayName: 'Jane Doe', role: 'coordinator', password: 'janedoe-2026-kap' });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['password', "must not contain the account's email name"]]);
    expect(CreateStaffBody.safeParse({ email: 'jane.doe@clinic.example', displayName: 'Jane Doe', role: 'coordinator', password: 'correct horse battery staple' }).success).toBe(true);
    expect(CreateStaffBody.safeParse({ email: 'jane.doe@clinic.example', displayName: 'Jane Doe', role: 'coordinator' }).success).toBe(true);
  });
});
