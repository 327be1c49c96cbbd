// Public API of the clinical domain core. Pure code only: no I/O, no Node built-ins, no Temporal,
// database or config imports, so workflows can import it (see README.md).
export * from './problem';
export * from './protocol';
export * from './plan-course';
export * from './protocol-registry';
export * from './protocols';
export * from './instruments';
export * from './outcomes';
export * from './rules';
