/** Framing of vhost-user messages and their fds over unix sockets. */
export * from './connection.js';
export * from './message-stream.js';
export * from './frame-buffer.js';
