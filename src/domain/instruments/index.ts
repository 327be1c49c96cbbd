export * from './instrument-id';
export * from './types';
export * from './phq9';
export * from './gad7';
export * from './pcl5';
export * from './cssrs';
export * from './qids-sr16';
export * from './registry';
