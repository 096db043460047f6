// The agent's server-sent events (/v1/watch) read with fetch, not
// EventSource, so the read token goes in a header. A stream that ends,
// fails or stays silent past the agent's keepalive is opened again, with
// a backoff; each new stream starts with the whole state (`added` per
// instance, then `synced`), which is how the page resyncs.

import { get, AuthError } from './api.js';

const SILENCE_MS = 40000; // the agent sends a keepalive every 15 s
const BACKOFF_MS = [500, 1000, 2000, 5000, 10000];

// handlers: onEvent(name, data), onOpen(), onDown(error), onAuth(error)
export class EventStream {
  constructor(path, handlers) {
    this.path = path;
    this.handlers = handlers;
    this.failures = 0;
    this.stopped = false;
  }

  start() {
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.abort) this.abort.abort();
  }

  async loop() {
    while (!this.stopped) {
      try {
        await this.once();
        if (this.stopped) return;
        this.handlers.onDown(new Error('the agent ended the stream'));
      } catch (e) {
        if (this.stopped) return;
        if (e instanceof AuthError) return this.handlers.onAuth(e);
        this.handlers.onDown(e);
      }
      const wait = BACKOFF_MS[Math.min(this.failures++, BACKOFF_MS.length - 1)];
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async once() {
    this.abort = new AbortController();
    let timer = 0;
    const silent = () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.abort.abort(), SILENCE_MS);
    };
    silent();
    try {
      const res = await get(this.path, this.abort.signal);
      this.handlers.onOpen();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        silent();
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  // One frame: "event: NAME" and "data: JSON" lines; ": ..." is a comment.
  dispatch(frame) {
    let name = 'message';
    let data = '';
    for (const line of frame.split('\n')) {
      if (line.startsWith('event: ')) name = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (!data) return;
    if (name === 'synced') this.failures = 0;
    this.handlers.onEvent(name, JSON.parse(data));
  }
}
