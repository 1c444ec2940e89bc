import { EventEmitter } from 'node:events';
import type { Notifier } from '../core/storage/notifier.js';

/** The notifier of a single-process deployment (SQLite): an in-process emitter. */
export function createLocalNotifier(): Notifier {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async listen(channel, handler) {
      emitter.on(channel, handler);
    },
    async notify(channel, payload) {
      emitter.emit(channel, payload);
    },
    async close() {
      emitter.removeAllListeners();
    },
  };
}
