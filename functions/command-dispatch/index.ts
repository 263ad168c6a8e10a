// Public surface of command-dispatch: the function (Trigger on io.mooring.command.v1), its pure
// core, and the "send command" entry point the command API and the MQTT integration call.

export {
  createCommandDispatch, dispatchCommand,
  type CommandOutcome, type CommandPorts, type Dispatch, type TargetResult,
} from './dispatch.ts';
export { OUTCOME_HEADER, createCommandService, type CommandService, type CommandServiceOptions, type SendCommandRequest, type SendCommandResult } from './send.ts';
export { externalRequest, externalEndpointOf, type ExternalEndpoint, type ExternalRequest, type ExternalCommandSpec } from './external.ts';
export { resolveTargets, type CommandTargets } from './targets.ts';
export { PendingReplies, REPLY_PREFIX, type CommandReply, type ReplyOffer, type ReplyReceiver } from './replies.ts';
