/**
 * The SSE fan-out bench's clients, in a Web Worker (their own thread, so their parsing does not
 * share the server's event loop): opens `clients` streams on `/api/events` and, for each
 * `bench-<n>` event, posts when the LAST client parsed it (epoch ms, sub-millisecond).
 */

/// <reference lib="deno.worker" />

interface Start {
  readonly url: string;
  readonly cookie: string;
  readonly clients: number;
}

const now = () => performance.timeOrigin + performance.now();

self.onmessage = async (message: MessageEvent<Start>) => {
  const { url, cookie, clients } = message.data;
  const count = new Map<string, number>();
  const opened: Promise<void>[] = [];
  for (let c = 0; c < clients; c++) {
    const ready = Promise.withResolvers<void>();
    opened.push(ready.promise);
    void (async () => {
      const res = await fetch(url, { headers: { cookie } });
      ready.resolve();
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      while (true) {
        const next = await reader.read();
        if (next.done) return;
        buffer += next.value;
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const mark = /"message":"(bench-\d+)"/.exec(buffer.slice(0, cut))?.[1];
          buffer = buffer.slice(cut + 2);
          if (mark === undefined) continue;
          const n = (count.get(mark) ?? 0) + 1;
          count.set(mark, n);
          if (n === clients) self.postMessage({ mark, lastMs: now() });
        }
      }
    })();
  }
  await Promise.all(opened);
  self.postMessage({ ready: true });
};
