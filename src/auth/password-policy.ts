// The password policy for every password a person chooses (staff creation, change, reset): NIST SP
// 800-63B's advice rather than composition rules. At least 12 characters; not one of the most common
// passwords (nor one with a few digits or symbols added, nor its l33t spelling); not a repetition or a
// run of sequential characters ('aaaaaaaaaaaa', '123456789012', 'abcabcabcabc', 'qwertyuiop12'); not
// containing the person's email name or display name. Generated passwords never come through here.
//
// The common-password list is the one zxcvbn-ts ships (@zxcvbn-ts/language-common, MIT, pinned in
// package.json): the ~49,000 most frequent passwords of the xato.net ten-million-password corpus (the
// corpus behind SecLists' 10-million lists), most frequent first, lower-cased. It is a superset of the
// 10,000 most common. zxcvbn left out passwords that are plain repeats or sequences, which the
// pattern rules below refuse anyway.
import { dictionary } from '@zxcvbn-ts/language-common';
import { invalidInput } from '../errors';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 200;

export interface PasswordOwner {
  email?: string | null;
  displayName?: string | null;
}

let common: Set<string> | undefined;
/** The shipped list of common passwords (loaded on first use: ~20 ms, ~5 MB). */
export function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(dictionary['passwords-common']);
  return common;
}

// Sequences a person types without thinking: the alphabet, digits (both ways round the 9-0 edge),
// keyboard rows, shifted digits.
const SEQUENCES = ['abcdefghijklmnopqrstuvwxyz', '01234567890', '1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm', '!@#$%^&*()', 'qazwsxedcrfvtgbyhnujmikolp'];

function step(a: string, b: string): 0 | 1 | -1 | null {
  if (a === b) return 0;
  for (const s of SEQUENCES) {
    const i = s.indexOf(a);
    if (i < 0) continue;
    if (s[i + 1] === b) return 1;
    if (i > 0 && s[i - 1] === b) return -1;
  }
  return null;
}

/**
 * How many predictable runs the text is made of: a run continues while each character repeats the
 * previous one, or follows it (or precedes it) in one of the sequences, in the same direction.
 * 'aaaaaaaaaaaa' is 1 run, 'abcabcabcabc' 4, 'qwertyuiop12' 2; a random 12 characters about 11.
 */
export function predictableRuns(text: string): number {
  const s = text.toLowerCase();
  if (!s) return 0;
  let runs = 1;
  let dir: 0 | 1 | -1 | null = null;
  for (let i = 1; i < s.length; i++) {
    const d = step(s[i - 1]!, s[i]!);
    if (d !== null && (dir === null || d === dir)) {
      dir = d;
      continue;
    }
    runs++;
    dir = null;
  }
  return runs;
}

const LEET: Record<string, string> = { '@': 'a', '4': 'a', '8': 'b', '3': 'e', '6': 'g', '1': 'i', '!': 'i', '0': 'o', '$': 's', '5': 's', '7': 't', '2': 'z' };
const unleet = (s: string, one = 'i') => s.replace(/[@48361!0$572]/g, (c) => (c === '1' ? one : LEET[c]!));

/** The word inside leading and trailing digits and symbols ('Dragon2024!' → 'dragon', affix '2024!'). */
function core(s: string): { word: string; affix: string } {
  const m = /^([^a-z]*)(.*?)([^a-z]*)$/.exec(s)!;
  return { word: m[2]!, affix: m[1]! + m[3]! };
}

const alnum = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

/** Why the password may not be used, or null when it may. */
export function validatePassword(password: string, owner: PasswordOwner = {}, opts: { lengthCheckedElsewhere?: boolean } = {}): string | null {
  const pw = password.normalize('NFKC');
  const length = [...pw].length;
  if (length < PASSWORD_MIN_LENGTH) return opts.lengthCheckedElsewhere ? null : `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return opts.lengthCheckedElsewhere ? null : `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  if (!pw.trim()) return 'must not be only spaces';
  const lower = pw.toLowerCase();

  const list = commonPasswords();
  for (const candidate of new Set([lower, unleet(lower), unleet(lower, 'l')])) {
    if (list.has(candidate)) return 'is one of the most common passwords: choose another';
    // A common word with a few, or predictable, digits and symbols around it.
    const { word, affix } = core(candidate);
    if (word.length >= 4 && word !== candidate && list.has(word) && (affix.length <= 6 || predictableRuns(affix) <= 2)) {
      return 'is a common password with a few characters added: choose another';
    }
  }

  if (/^(.+?)\1+$/su.test(lower)) return 'is a repeated pattern: choose a password that does not repeat itself';
  if (Math.min(predictableRuns(lower), predictableRuns(alnum(lower))) <= 4) return 'is a run of repeated or sequential characters: choose another';
  if (new Set(lower).size < 5) return 'uses too few different characters';

  const flat = alnum(pw);
  const local = (owner.email ?? '').split('@')[0] ?? '';
  const emailParts = [alnum(local), ...local.split(/[._+-]+/).map(alnum).filter((p) => p.length >= 4)].filter((p) => p.length >= 3);
  if (emailParts.some((p) => lower.includes(p) || flat.includes(p))) return "must not contain the account's email name";
  const name = owner.displayName ?? '';
  const nameParts = [alnum(name), ...name.split(/\s+/).map(alnum).filter((p) => p.length >= 4)].filter((p) => p.length >= 3);
  if (nameParts.some((p) => lower.includes(p) || flat.includes(p))) return "must not contain the account's name";
  return null;
}

/**
 * For a zod object schema with `password` (with its own min(12)/max(200)) and `email` / `displayName` fields:
 * `.superRefine(passwordPolicyCheck)` puts the policy's reason on the `password` field (a 400 that
 * names it), so the policy holds wherever that schema parses a body.
 */
export function passwordPolicyCheck(
  value: { password?: string | undefined; email?: string | undefined; displayName?: string | undefined },
  ctx: { addIssue(issue: { code: 'custom'; path: string[]; message: string }): void },
): void {
  if (value.password === undefined) return;
  // The field's own min/max report a wrong length (once); the policy adds what they cannot see.
  const reason = validatePassword(value.password, { email: value.email, displayName: value.displayName }, { lengthCheckedElsewhere: true });
  if (reason) ctx.addIssue({ code: 'custom', path: ['password'], message: reason });
}

/** For route handlers (change / reset password): throws a 400 naming `field` when the policy refuses. */
export function assertPasswordAllowed(password: string, owner: PasswordOwner, field = 'password'): void {
  const reason = validatePassword(password, owner);
  if (reason) throw invalidInput([{ field, message: reason }]);
}
