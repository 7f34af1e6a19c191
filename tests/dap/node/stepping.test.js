'use strict';
// Step in, over and out: through plain calls, into a generator resumed by next(), and into a
// coroutine awaited under asyncio.run.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Session } = require('./helpers');

// [function, line] of the frame the thread is stopped in (a frame's name may say more:
// what resumed or awaited it)
async function where(s, threadId) {
  const top = await s.top(threadId);
  return [top.name.split(' ')[0], top.line];
}

test('step in, over and out of a function', async (t) => {
  const s = new Session(t, `
    def add(a, b):
        total = a + b
        return total


    def main():
        x = add(1, 2)
        y = add(x, 3)
        print("sum", y, flush=True)


    main()
  `);
  const dc = s.dc;
  await s.launch({ breakpoints: [7] });
  const { threadId } = await s.stopped({ reason: 'breakpoint' });
  await s.setBreakpoints([]);
  const step = (request) => s.stepping(() => request({ threadId }));

  await step((a) => dc.stepInRequest(a));
  assert.deepEqual(await where(s, threadId), ['add', 2]);
  await step((a) => dc.nextRequest(a));
  assert.deepEqual(await where(s, threadId), ['add', 3]);
  const frame = await s.top(threadId);
  assert.equal((await s.evaluate('total', frame.id, 'hover')).result, '3');
  await step((a) => dc.stepOutRequest(a));
  assert.deepEqual(await where(s, threadId), ['main', 8]);  // the line after the call
  await step((a) => dc.nextRequest(a));  // over the call: no stop in add
  assert.deepEqual(await where(s, threadId), ['main', 9]);
  const y = (await s.evaluate('y', (await s.top(threadId)).id, 'hover')).result;
  assert.equal(y, '6');
  await dc.continueRequest({ threadId });
  await dc.event('terminated');
  await dc.stdoutHas('sum 6\n');
});

test('step into next(gen): into the generator, where it left off', async (t) => {
  const s = new Session(t, `
    def numbers():
        yield 1
        yield 2


    def main():
        gen = numbers()
        first = next(gen)
        second = next(gen)
        print("got", first, second, flush=True)


    main()
  `);
  const dc = s.dc;
  await s.launch({ breakpoints: [8] });
  const { threadId } = await s.stopped({ reason: 'breakpoint' });
  await s.setBreakpoints([]);
  const step = (request) => s.stepping(() => request({ threadId }));

  await step((a) => dc.stepInRequest(a));
  const frames = await s.frames(threadId);
  assert.deepEqual([frames[0].name, frames[0].line], ['numbers (generator resumed by main)', 2]);
  assert.deepEqual([frames[1].name, frames[1].line], ['main', 8]);
  await step((a) => dc.stepOutRequest(a));  // the generator yields: back in main
  assert.deepEqual(await where(s, threadId), ['main', 9]);
  assert.equal((await s.evaluate('first', (await s.top(threadId)).id, 'hover')).result, '1');
  // the second next() resumes the generator after its first yield
  await step((a) => dc.stepInRequest(a));
  const resumed = await s.top(threadId);
  assert.deepEqual([resumed.name, resumed.line], ['numbers (generator resumed by main)', 3]);
  await dc.continueRequest({ threadId });
  await dc.event('terminated');
  await dc.stdoutHas('got 1 2\n');
});

test('step into an awaited coroutine under asyncio.run, and back out', async (t) => {
  const s = new Session(t, `
    import asyncio


    async def inner(x):
        y = x + 1
        return y


    async def outer():
        value = await inner(1)
        print("value", value, flush=True)


    asyncio.run(outer())
  `);
  const dc = s.dc;
  await s.launch({ breakpoints: [10] });
  const { threadId } = await s.stopped({ reason: 'breakpoint' });
  await s.setBreakpoints([]);
  const step = (request) => s.stepping(() => request({ threadId }));

  await step((a) => dc.stepInRequest(a));
  const frames = await s.frames(threadId);
  assert.deepEqual([frames[0].name, frames[0].line], ['inner (awaited from outer)', 5]);
  assert.deepEqual([frames[1].name.split(' ')[0], frames[1].line], ['outer', 10]);
  await step((a) => dc.nextRequest(a));
  assert.deepEqual(await where(s, threadId), ['inner', 6]);
  await step((a) => dc.stepOutRequest(a));  // the coroutine returns: after the await
  assert.deepEqual(await where(s, threadId), ['outer', 11]);
  assert.equal((await s.evaluate('value', (await s.top(threadId)).id, 'hover')).result, '2');
  await dc.continueRequest({ threadId });
  await dc.event('terminated');
  await dc.stdoutHas('value 2\n');
});
