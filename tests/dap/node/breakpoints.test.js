'use strict';
// Exception breakpoints (the uncaught filter by default, raised when asked) with exceptionInfo;
// conditional, hit-count and log breakpoints.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Session } = require('./helpers');

const PARSE = `
  def parse(text):
      return int(text)


  def main():
      try:
          parse("x")
      except ValueError:
          print("caught", flush=True)
      parse("y")


  main()
`;

test('an uncaught exception stops where it was raised (the default filter)', async (t) => {
  const s = new Session(t, PARSE);
  const dc = s.dc;
  const capabilities = await s.launch();
  const filters = capabilities.exceptionBreakpointFilters;
  assert.deepEqual(filters.filter((f) => f.default).map((f) => f.filter), ['uncaught']);
  assert.ok(filters.some((f) => f.filter === 'raised'));
  const stopped = await s.stopped({ reason: 'exception' });
  assert.match(stopped.text, /ValueError/);
  // the exception caught before did not stop the program
  await dc.stdoutHas('caught\n');
  const frames = await s.frames(stopped.threadId);
  assert.deepEqual(frames.slice(0, 2).map((f) => [f.name, f.line]), [['parse', 2], ['main', 10]]);
  const info = (await dc.exceptionInfoRequest({ threadId: stopped.threadId })).body;
  assert.equal(info.exceptionId, 'ValueError');
  assert.equal(info.breakMode, 'unhandled');
  assert.match(info.description, /invalid literal for int\(\) with base 10: 'y'/);
  assert.equal((await s.evaluate('text', frames[0].id, 'hover')).result, "'y'");
  await dc.continueRequest({ threadId: stopped.threadId });
  const exited = await dc.event('exited');
  assert.equal(exited.body.exitCode, 1);
  await dc.event('terminated');
  await dc.outputHas('ValueError: invalid literal');  // the traceback, on the program's stderr
});

test('the raised filter stops at a caught exception; no filter, no stop', async (t) => {
  const s = new Session(t, PARSE);
  const dc = s.dc;
  await s.launch({ exceptionFilters: ['raised'] });
  const stopped = await s.stopped({ reason: 'exception' });
  const frames = await s.frames(stopped.threadId);
  assert.deepEqual(frames.slice(0, 2).map((f) => [f.name, f.line]), [['parse', 2], ['main', 7]]);
  const info = (await dc.exceptionInfoRequest({ threadId: stopped.threadId })).body;
  assert.equal(info.exceptionId, 'ValueError');
  assert.equal(info.breakMode, 'always');
  assert.match(info.description, /'x'/);
  assert.ok(!dc.stdout.includes('caught'));

  await dc.setExceptionBreakpointsRequest({ filters: [] });
  const mark = s.mark();
  await dc.continueRequest({ threadId: stopped.threadId });
  const exited = await dc.event('exited', { after: mark });
  assert.equal(exited.body.exitCode, 1);
  assert.ok(!s.dc.events.slice(mark).some((e) => e.event === 'stopped'));
  await dc.stdoutHas('caught\n');
});

const VISIT = `
  def visit(n):
      square = n * n
      return square


  def main():
      total = 0
      for n in range(1, 8):
          total += visit(n)
      print("total", total, flush=True)


  main()
`;

test('conditional, hit-count and log breakpoints', async (t) => {
  const s = new Session(t, VISIT);
  const dc = s.dc;
  const log = { line: 2, logMessage: 'visit {n} of {n * 10}' };
  await s.launch({ breakpoints: [log, { line: 3, condition: 'n == 3' }] });
  const first = await s.stopped({ reason: 'breakpoint' });
  let frame = await s.top(first.threadId);
  assert.deepEqual([frame.line, (await s.evaluate('n', frame.id, 'hover')).result], [3, '3']);
  // the log breakpoint printed each call and did not stop the program
  const logged = dc.events.filter((e) => e.event === 'output' && e.body.output.startsWith('visit'));
  assert.deepEqual(logged.map((e) => [e.body.category, e.body.output.trim()]),
    [['console', 'visit 1 of 10'], ['console', 'visit 2 of 20'], ['console', 'visit 3 of 30']]);
  assert.equal(dc.events.filter((e) => e.event === 'stopped').length, 1);

  // from now on: stop at the second hit
  const found = await s.setBreakpoints([log, { line: 3, hitCondition: '2' }]);
  assert.deepEqual(found.map((b) => [b.line, b.verified]), [[2, true], [3, true]]);
  let mark = s.mark();
  await dc.continueRequest({ threadId: first.threadId });
  const second = await s.stopped({ after: mark, reason: 'breakpoint' });
  assert.deepEqual(second.hitBreakpointIds, [found[1].id]);
  frame = await s.top(second.threadId);
  assert.equal((await s.evaluate('n', frame.id, 'hover')).result, '5');
  assert.ok(dc.output.includes('visit 5 of 50'));

  await s.setBreakpoints([]);
  mark = s.mark();
  await dc.continueRequest({ threadId: second.threadId });
  await dc.event('terminated', { after: mark });
  await dc.stdoutHas('total 140\n');
  assert.ok(!dc.output.includes('visit 6'));
  assert.ok(!dc.events.slice(mark).some((e) => e.event === 'stopped'));
});
