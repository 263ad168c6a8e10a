// Routes kafkajs' own log lines to Mooring's injected Logger (kafkajs would write to the console).
// kafkajs INFO lines (group joins, connects) become debug; ERROR lines stay errors.

import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '../../functions/ports/runtime.ts';

export function kafkajsLogCreator(logger: Logger): logCreator {
  return () => ({ namespace, level, log }) => {
    const { message, timestamp: _t, logger: _l, ...extra } = log as { message: string; timestamp?: unknown; logger?: unknown };
    const obj = { kafkajs: namespace, ...extra };
    if (level === logLevel.ERROR) logger.error(obj, message);
    else if (level === logLevel.WARN) logger.warn(obj, message);
    else logger.debug(obj, message);
  };
}
