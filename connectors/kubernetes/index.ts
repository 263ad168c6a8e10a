// The cluster's control plane: the controller that keeps each application's push Trigger in
// Kubernetes in step with the registry, and its Kubernetes API client.

export {
  APPLICATION_LABEL, APPLICATION_UID_LABEL, containedIn, MANAGED_BY, MANAGED_BY_LABEL, startTriggerController, TRIGGER_FINALIZER, TRIGGER_READY,
  withCondition, type Condition, type ControllerOptions, type TriggerController,
} from './controller.ts';
export { apiMessage, apiStatus, loadKubeConfig, TriggersApi, type TriggerObject, type WriteCounts } from './triggers-api.ts';
