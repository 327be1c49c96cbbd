// Maintenance: should the client be offered a booster? Based on PHQ-9 after the course vs now and the
// protocol's maintenance rule (rise of >= 5 from the post-course score, or back at/above 10), and, when
// the protocol says so, on the interval since the last dose (`boosterDueDays`).
//
// Sources (clinical.md): 10 is the PHQ-9's "moderate" cut-point (Kroenke 2001, section 5); the spacing
// figures are what clinics do (section 1: IV every 2-6 weeks, KAP every 1-2 months, Spravato every 1-2
// weeks from week 9, the last from the Spravato label's maintenance schedule). The relapse rule itself
// (a rise of 5 over the post-course score, or back at 10 or above), the interval rule and the maximum
// number of boosters are a clinic's choice: no published standard for ketamine boosters fixes them, so
// each is a protocol field a clinic sets.
import type { BoosterRule, Protocol } from '../protocol';
import { block, note, type Decision, type Reason } from './decision';

export interface BoosterInput {
  postCoursePhq9: number;
  currentPhq9: number;
  /** Days since the last dose or booster, if known: boosters keep the protocol's minimum spacing. */
  daysSinceLastDose?: number | null;
  /** Boosters already given or scheduled in this maintenance period (the protocol's maxBoosters caps them). */
  boostersSoFar?: number;
}

/**
 * - suggest-booster: relapse signal and spacing allows it;
 * - not-yet: relapse signal, but the last dose was too recent;
 * - review: PHQ-9 was never below the threshold after the course (non-response, not relapse):
 *   the prescriber reviews the plan rather than adding a booster by rule;
 * - no-booster: no signal, or the protocol does not offer boosters.
 */
export type BoosterDecision = 'suggest-booster' | 'not-yet' | 'review' | 'no-booster';

export function boosterSuggestion(protocol: Protocol, input: BoosterInput): Decision<BoosterDecision> {
  const m = protocol.maintenance;
  const { postCoursePhq9: post, currentPhq9: now } = input;
  for (const [name, v] of [['postCoursePhq9', post], ['currentPhq9', now]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 27) throw new RangeError(`${name} must be a PHQ-9 total 0-27, got ${v}`);
  }
  const reasons: Reason[] = [];
  const rise = now - post;
  if (rise >= m.phq9RiseFromPostCourse) reasons.push(block('phq9-rise', `PHQ-9 rose by ${rise} (from ${post} after the course to ${now}); threshold ${m.phq9RiseFromPostCourse}`));
  const backAbove = now >= m.phq9AtOrAbove && post < m.phq9AtOrAbove;
  if (backAbove) reasons.push(block('phq9-back-above-threshold', `PHQ-9 is back at ${now}, at or above ${m.phq9AtOrAbove}`));
  const nonResponse = post >= m.phq9AtOrAbove && now >= m.phq9AtOrAbove;
  if (nonResponse) reasons.push(note('phq9-not-below-threshold-after-course', `PHQ-9 was ${post} after the course and is ${now}: never below ${m.phq9AtOrAbove}`));

  const signal = reasons.some((r) => r.blocking);
  if (!m.boostersOffered) {
    reasons.push(note('boosters-not-offered', 'This protocol does not offer boosters'));
    return { decision: signal || nonResponse ? 'review' : 'no-booster', reasons };
  }
  if (!signal) {
    if (nonResponse) return { decision: 'review', reasons };
    reasons.push(note('no-relapse-signal', `PHQ-9 ${now} vs ${post} after the course: no booster rule met`));
    return { decision: 'no-booster', reasons };
  }
  const rule = boosterRuleOf(protocol);
  if (rule === 'interval') {
    // Boosters come by the interval only: a relapse is the prescriber's to review, not a booster by rule.
    reasons.push(note('relapse-rule-off', `This protocol gives boosters every ${m.maxDaysBetweenBoosters} days, not on relapse: the prescriber reviews`));
    return { decision: 'review', reasons };
  }
  if (m.maxBoosters !== undefined && (input.boostersSoFar ?? 0) >= m.maxBoosters) {
    reasons.push(note('max-boosters-reached', `${input.boostersSoFar} booster(s) given, the protocol's most is ${m.maxBoosters}: the prescriber reviews`));
    return { decision: 'review', reasons };
  }
  const days = input.daysSinceLastDose;
  if (days !== undefined && days !== null && days < m.minDaysBetweenBoosters) {
    reasons.push(note('too-soon', `Last dose ${days} day(s) ago; boosters at least ${m.minDaysBetweenBoosters} days apart (in ${m.minDaysBetweenBoosters - days} day(s))`));
    return { decision: 'not-yet', reasons };
  }
  return { decision: 'suggest-booster', reasons };
}

/** The protocol's booster rule ('relapse' when the protocol predates the field). */
export function boosterRuleOf(protocol: Protocol): BoosterRule {
  return protocol.maintenance.boosterRule ?? 'relapse';
}

export interface BoosterDueInput {
  /** Boosters already given or scheduled in this maintenance period. */
  boostersSoFar: number;
  /** The relapse rule said 'not-yet': a booster waits for the protocol's minimum spacing. */
  relapseWaiting: boolean;
}

/**
 * When, in days after the last dose (or booster), the next booster falls due by rule, or null (none
 * falls due by time): a relapse that waited for the spacing at minDaysBetweenBoosters; by the interval
 * (protocols whose boosterRule is 'interval' or 'relapse-or-interval') at maxDaysBetweenBoosters;
 * never when boosters are not offered or maxBoosters are given already.
 */
export function boosterDueDays(protocol: Protocol, input: BoosterDueInput): number | null {
  const m = protocol.maintenance;
  if (!m.boostersOffered) return null;
  if (m.maxBoosters !== undefined && input.boostersSoFar >= m.maxBoosters) return null;
  const rule = boosterRuleOf(protocol);
  if (input.relapseWaiting && rule !== 'interval') return m.minDaysBetweenBoosters;
  if (rule === 'interval' || rule === 'relapse-or-interval') return Math.max(m.maxDaysBetweenBoosters, m.minDaysBetweenBoosters);
  return null;
}
