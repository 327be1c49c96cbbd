// What the worker's payload codec hands to workflow code in place of a payload it refused: one that is
// not sealed with a PAYLOAD_KEYS key (a raw `temporal workflow update`, an SDK client without the
// codec, a forged or altered ciphertext). See src/security/payload-codec.ts.
//
// The codec cannot reject a message itself: an exception in decoding fails the whole workflow task,
// and for a signal (already in history) that would fail every later task too, stalling the course.
// So it substitutes this marker, and workflow code refuses it: an Update's validator rejects it
// (nothing is written to history), a signal is ignored, a start fails the new workflow before it does
// anything. Bundle-safe: no imports.

export const REFUSED_PAYLOAD_KEY = '$kapRefusedPayload';

export interface RefusedPayload {
  [REFUSED_PAYLOAD_KEY]: 'not-encrypted' | 'not-authentic';
}

export function isRefusedPayload(value: unknown): value is RefusedPayload {
  return typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, REFUSED_PAYLOAD_KEY);
}

/**
 * True for what no engine code sends: a refused payload, or no object at all (a raw client's signal
 * or Update without an argument never reaches the codec, which sees only payloads that exist).
 */
export function isUnusableInput(value: unknown): boolean {
  return typeof value !== 'object' || value === null || Array.isArray(value) || isRefusedPayload(value);
}

/** The ApplicationFailure type of a refused Update or start. */
export const REFUSED_PAYLOAD_FAILURE = 'UnauthenticatedPayload';
export const REFUSED_PAYLOAD_MESSAGE = "refused: the input is missing or not sealed with the engine's payload keys (only the engine may drive a workflow)";
