'use strict';
// A session from launch to its end: breakpoints, the stack, scopes and variables, evaluation,
// setVariable, terminate and disconnect.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { Session, knownBug, within } = require('./helpers');

/** The process id the program printed first ("pid N"). */
async function programPid(dc) {
  await dc.until(() => (/pid \d+\n/.test(dc.stdout) ? true : undefined), 'the pid');
  return Number(dc.stdout.match(/pid (\d+)\n/)[1]);
}

/** Resolves once process `pid` has ended (or is a zombie waiting for its parent). */
async function gone(pid, timeout = 30000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    let state = null;
    try {
      state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    } catch {
      try {
        process.kill(pid, 0);
        state = '?';
      } catch {
        return;
      }
    }
    if (state === 'Z') return;
    if (Date.now() > deadline) throw new Error(`process ${pid} still runs (${state})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const SHOW = `
  class Point:
      def __init__(self, x, y):
          self.x = x
          self.y = y


  def show(config, point):
      label = "cfg"
      print(label, config["name"], point.x, flush=True)


  def main():
      show({"name": "demo", "size": 3}, Point(1, 2))


  main()
`;

test('launch, stop at a breakpoint: the stack, scopes and variables with children', async (t) => {
  const s = new Session(t, SHOW);
  const dc = s.dc;
  await dc.start();
  // the breakpoint is verified once its module is loaded: a breakpoint event says so
  const [, , stack] = await dc.hitBreakpoint(s.launchArgs(),
    { path: s.program, line: 9, verified: false });
  const loaded = await dc.event('breakpoint', { match: { reason: 'changed' } });
  assert.deepEqual([loaded.body.breakpoint.verified, loaded.body.breakpoint.line], [true, 9]);

  const stopped = await s.stopped({ reason: 'breakpoint' });
  assert.deepEqual(stopped.hitBreakpointIds, [loaded.body.breakpoint.id]);
  const threads = (await dc.threadsRequest()).body.threads;
  assert.ok(threads.some((th) => th.id === stopped.threadId && th.name === 'MainThread'));

  const frames = stack.body.stackFrames;
  assert.deepEqual(frames.map((f) => [f.name, f.line]),
    [['show', 9], ['main', 13], ['<module>', 16]]);
  assert.ok(frames.every((f) => f.source.path === s.program));

  const scopes = await s.scopes(frames[0].id);
  assert.deepEqual(scopes.map((sc) => [sc.name, sc.expensive]),
    [['Locals', false], ['Globals', true]]);
  const locals = await s.variables(scopes[0].variablesReference);
  assert.deepEqual(Object.keys(locals).sort(), ['config', 'label', 'point']);
  assert.equal(locals.label.value, "'cfg'");
  assert.equal(locals.label.variablesReference, 0);
  assert.equal(locals.config.type, 'dict');
  assert.equal(locals.point.type, 'Point');

  // children: a dict's items and an object's attributes
  assert.ok(locals.config.variablesReference > 0);
  const items = await s.variables(locals.config.variablesReference);
  assert.deepEqual(Object.values(items).map((v) => [v.name, v.value]),
    [["'name'", "'demo'"], ["'size'", '3']]);
  const point = await s.variables(locals.point.variablesReference);
  assert.deepEqual([point.x.value, point.y.value], ['1', '2']);

  // globals: the module's names, the functions among them
  const globals = await s.variables(scopes[1].variablesReference);
  assert.ok(['Point', 'show', 'main'].every((name) => name in globals), Object.keys(globals));

  await dc.continueRequest({ threadId: stopped.threadId });
  const exited = await dc.event('exited');
  assert.equal(exited.body.exitCode, 0);
  await dc.event('terminated');
  await dc.stdoutHas('cfg demo 1\n');
});

const GREET = `
  def greet(name, times):
      greeting = "hello " + name
      for _ in range(times):
          print(greeting, flush=True)
      return greeting


  result = greet("world", 1)
  print("result:", result, flush=True)
`;

test('evaluate in the repl and for a hover; setVariable sticks', async (t) => {
  const s = new Session(t, GREET);
  const dc = s.dc;
  await s.launch({ breakpoints: [3] });
  const { threadId } = await s.stopped({ reason: 'breakpoint' });
  const frame = await s.top(threadId);
  assert.deepEqual([frame.name, frame.line], ['greet', 3]);

  const upper = await s.evaluate('greeting.upper()', frame.id, 'repl');
  assert.deepEqual([upper.result, upper.type], ["'HELLO WORLD'", 'str']);
  const hover = await s.evaluate('times', frame.id, 'hover');
  assert.deepEqual([hover.result, hover.type], ['1', 'int']);
  // the repl runs statements too; what they bind stays in the frame
  await s.evaluate('extra = 40 + 2', frame.id, 'repl');
  assert.equal((await s.evaluate('extra', frame.id, 'hover')).result, '42');
  // a value with children, from an evaluation
  const pair = await s.evaluate('{"a": [1, 2]}', frame.id, 'repl');
  assert.ok(pair.variablesReference > 0);
  const inner = await s.variables(pair.variablesReference);
  assert.equal(inner["'a'"].value, '[1, 2]');
  await assert.rejects(s.evaluate('no_such_name', frame.id, 'repl'), /NameError/);
  await assert.rejects(s.evaluate('times = 5', frame.id, 'hover'));  // a hover only reads

  const [locals] = await s.scopes(frame.id);
  const set = await dc.setVariableRequest({ variablesReference: locals.variablesReference,
    name: 'greeting', value: '"hello " + "relive"' });
  assert.equal(set.body.value, "'hello relive'");
  await dc.setVariableRequest({ variablesReference: locals.variablesReference,
    name: 'times', value: '2' });
  await assert.rejects(dc.setVariableRequest({
    variablesReference: locals.variablesReference, name: 'times', value: 'no_such_name' }));
  // the frame's variables asked for again (new scopes) have the new values
  const after = await s.locals(frame.id);
  assert.deepEqual([after.greeting.value, after.times.value], ["'hello relive'", '2']);

  await dc.setBreakpointsRequest({ source: { path: s.program }, breakpoints: [] });
  await dc.continueRequest({ threadId });
  await dc.event('terminated');
  // the loop ran twice (times), with the new greeting, which greet returned
  await dc.stdoutHas('result: hello relive\n');
  assert.equal(dc.stdout.match(/^hello relive$/mg).length, 2);
  assert.ok(!dc.stdout.includes('hello world'));
});

// A scope's variablesReference answers with the values of when the scopes were asked for: an
// editor that asks for them again after a setVariable or a repl assignment (VS Code refreshes
// its Variables view so) shows the old values.
test('the same scope reference, asked again after setVariable, has the new value',
  {}, async (t) => {
    const s = new Session(t, GREET);
    const dc = s.dc;
    await s.launch({ breakpoints: [3] });
    const { threadId } = await s.stopped({ reason: 'breakpoint' });
    const frame = await s.top(threadId);
    const [locals] = await s.scopes(frame.id);
    await s.variables(locals.variablesReference);
    await dc.setVariableRequest({ variablesReference: locals.variablesReference,
      name: 'times', value: '2' });
    await s.evaluate('extra = 42', frame.id, 'repl');
    const again = await s.variables(locals.variablesReference);
    assert.equal(again.times.value, '2');
    assert.equal(again.extra?.value, '42');
  });

test('terminate ends the program', async (t) => {
  const s = new Session(t, `
    import os
    import time

    deadline = time.monotonic() + 60
    print("pid", os.getpid(), flush=True)
    while time.monotonic() < deadline:
        time.sleep(0.02)
    print("timed out", flush=True)
  `);
  const dc = s.dc;
  const capabilities = await s.launch();
  assert.equal(capabilities.supportsTerminateRequest, true);
  const pid = await programPid(dc);
  await dc.terminateRequest();
  await dc.event('terminated');
  await gone(pid);
  assert.ok(!dc.stdout.includes('timed out'));
});

// The program's output is read from its pipes by threads of their own, its end comes on the
// agent's channel: the adapter lets the output out first, or an editor that ends the session
// at terminated would never show the last lines.
test("the program's last output comes before terminated", {},
  async (t) => {
    const s = new Session(t, `
      import sys

      for n in range(50):
          print("line", n, flush=True)
      print("last line", file=sys.stderr, flush=True)
    `);
    await s.launch();
    await s.dc.event('terminated');
    assert.ok(s.dc.output.includes('line 49\n'), s.dc.output.slice(-100));
    assert.ok(s.dc.output.includes('last line\n'), s.dc.output.slice(-100));
  });

// The program ends with os._exit (so does a terminate request): the agent cannot say so; the
// exit code comes from the process.
test('a program that ends with os._exit: exited has its exit code', {},
  async (t) => {
    const s = new Session(t, `
      import os

      print("bye", flush=True)
      os._exit(3)
    `);
    await s.launch();
    const exited = await s.dc.event('exited');
    assert.equal(exited.body.exitCode, 3);
  });

test('disconnect with terminateDebuggee false: the program runs on', async (t) => {
  const s = new Session(t, `
    import os
    import time

    deadline = time.monotonic() + 60
    print("pid", os.getpid(), flush=True)
    while not os.path.exists("go") and time.monotonic() < deadline:
        time.sleep(0.02)
    with open("done", "w") as f:
        f.write(str(os.getpid()))
  `);
  const dc = s.dc;
  await s.launch();
  const pid = await programPid(dc);
  s.disconnected = true;
  await dc.disconnectRequest({ terminateDebuggee: false });
  process.kill(pid, 0);  // throws if the process is gone
  fs.writeFileSync(`${s.dir}/go`, '');
  assert.equal(await s.file('done'), String(pid));  // written after the disconnect
  // the adapter stayed for the program's output, and ends with it
  assert.equal(await within(dc.adapterExit, 30000, 'the adapter to end'), 0);
});
