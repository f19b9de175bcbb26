// Moved to common/lifecycle (models/ and inference/ read it for readiness; they must not import health/).
export { LifecycleState } from '../common/lifecycle/lifecycle.state';
