export * from './job-view.js';
export * from './instance-view.js';
export * from './state.js';
export * from './projection.js';
export * from './snapshot-store.js';
export * from './runner.js';
