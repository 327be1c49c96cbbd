// Typed search attributes of a course workflow. Operational state only: never a name, an answer,
// a score, a risk level or a note (search attributes are not encrypted and are visible to anyone with
// Temporal access). The suicide-risk level was one until issue #15; boards read it from PostgreSQL.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const KapStep = defineSearchAttributeKey('KapStep', SearchAttributeType.KEYWORD);
export const KapStepDeadline = defineSearchAttributeKey('KapStepDeadline', SearchAttributeType.DATETIME);
export const KapClinic = defineSearchAttributeKey('KapClinic', SearchAttributeType.KEYWORD);
export const KapStatus = defineSearchAttributeKey('KapStatus', SearchAttributeType.KEYWORD);

/**
 * KapStatus's value: whether the course runs, is paused or has ended, never how it ended. "ineligible"
 * would tell anyone with Temporal access a screening outcome; completed, withdrawn and ineligible are
 * all "ended" here, and the course row in PostgreSQL (courses.status, end_reason) says which.
 */
export function searchStatus(status: 'active' | 'paused' | 'completed' | 'withdrawn' | 'ineligible'): 'active' | 'paused' | 'ended' {
  return status === 'active' || status === 'paused' ? status : 'ended';
}
export const KapProtocol = defineSearchAttributeKey('KapProtocol', SearchAttributeType.KEYWORD);

/** For registering on a server: `temporal server start-dev --search-attribute Name=Type`. */
export const COURSE_SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Datetime'> = {
  KapStep: 'Keyword',
  KapStepDeadline: 'Datetime',
  KapClinic: 'Keyword',
  KapStatus: 'Keyword',
  KapProtocol: 'Keyword',
};
