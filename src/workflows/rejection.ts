// A refused message, as the machines throw it: its type decides the HTTP status the API answers with
// (failures.ts turns it into the ApplicationFailure that leaves a handler). Below every machine file,
// so nothing here imports a machine.
import type { Reason } from '../domain/rules/decision';

export const REJECTION_TYPES = ['InvalidTransition', 'ClinicallyRefused', 'InvalidInput', 'InvalidAnswers'] as const;
/**
 *   InvalidTransition  409: not possible in the course's current state
 *   ClinicallyRefused  422: well-formed but refused by a clinical rule (reasons in details)
 *   InvalidInput       400: malformed input
 *   InvalidAnswers     400: assessment answers that do not fit the instrument
 */
export type RejectionType = (typeof REJECTION_TYPES)[number];

export class Rejection extends Error {
  constructor(
    readonly type: RejectionType,
    message: string,
    readonly reasons: Reason[] = [],
  ) {
    super(message);
    this.name = 'Rejection';
  }
}
