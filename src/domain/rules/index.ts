export * from './decision';
export * from './eligibility';
export * from './pre-dose-check';
export * from './discharge-readiness';
export * from './suicide-risk';
export * from './follow-up-schedule';
export * from './booster';
export * from './overdue-steps';
