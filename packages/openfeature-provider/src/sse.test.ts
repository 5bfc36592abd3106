import { describe, expect, it } from '@jest/globals';
import { readSse } from './sse.ts';

function body(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

async function all(chunks: string[]): Promise<unknown[]> {
  const events = [];
  for await (const e of readSse(body(chunks))) events.push(e);
  return events;
}

describe('readSse', () => {
  it('when events arrive split across chunks with CRLF, comments and multi-line data, then each is yielded whole, in order', async () => {
    expect(await all(['id: 7\r\nevent: snap', 'shot\r\ndata: {"a":', '1}\r\n\r\n: ping\n\n', 'data: x\ndata: y\n\n'])).toEqual([
      { event: 'snapshot', id: '7', data: '{"a":1}' },
      { event: 'message', id: undefined, data: 'x\ny' },
    ]);
  });

  it('when the stream ends mid-event, then the unfinished event is not yielded', async () => {
    expect(await all(['event: snapshot\ndata: {"a":1}\n\nevent: snapshot\ndata: {"b"'])).toEqual([{ event: 'snapshot', id: undefined, data: '{"a":1}' }]);
  });
});
