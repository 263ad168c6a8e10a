// Where an io.drogue.event.v1 is in Mooring's pipeline, so that Triggers chain functions without
// loops (see knative/triggers.yaml). normalize replies io.drogue.event.v1 carrying
// `mooringstage: normalized`; content-type sees only those and replies with the extension removed,
// which makes the event final: exactly Drogue's attributes, the only form push Triggers select.

/** Extension naming the pipeline stage of a not yet final io.drogue.event.v1. */
export const STAGE_EXTENSION = 'mooringstage';

export const Stage = {
  /**
   * Set by connectors on io.drogue.connection.v1. Connection events then take the same Triggers
   * as the device's publishes (normalize, content-type, push), one at a time per partitionkey on
   * each, so an application sees connected → the device's events → disconnected in order; a
   * shorter path would let a disconnect overtake the last messages. Only when the bus is quiet
   * for the key (EventBus.quiet: nothing of it anywhere in the chain) does the MQTT gateway leave
   * the mark off: the event is then final at once, as content-type would have made it.
   */
  raw: 'raw',
  /** Set by normalize; content-type removes it. */
  normalized: 'normalized',
  /**
   * Set by command-dispatch on io.mooring.command.v1 copies routed to the instance holding the
   * target (`mooringholder`): the dispatch Trigger skips them (knative/templates/command-triggers.yaml).
   */
  routed: 'routed',
} as const;
