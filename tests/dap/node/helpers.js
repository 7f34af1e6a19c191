'use strict';
// A debug session of `relive dap` driven by @vscode/debugadapter-testsupport's DebugClient:
// the adapter runs as `$RELIVE_PYTHON -m relive dap` on standard input and output, every event
// it sends is kept (so that a test waits for an event that may have come already), and each
// session runs its own small program in a temporary directory of its own.
//
// Run: `python -m pytest tests/dap/test_node_client.py` (installs the packages once, in the
// user's cache), or here: `npm ci`, then `RELIVE_PYTHON=/path/to/python npm test`.
// RELIVE_DAP_KNOWN_BUGS=1 runs the tests of adapter bugs not fixed yet (skipped otherwise);
// RELIVE_DAP_TIMEOUT_MS sets how long a wait lasts before it fails (default 30000).

const assert = require('node:assert/strict');
const cp = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { DebugClient } = require('@vscode/debugadapter-testsupport');

const PYTHON = process.env.RELIVE_PYTHON || 'python3';
// how long to wait for one event or response: long, for a loaded machine; a test that passes
// never waits this long
const TIMEOUT = Number(process.env.RELIVE_DAP_TIMEOUT_MS) || 30000;

function dedent(text) {
  const lines = text.replace(/^\n/, '').split('\n');
  const indents = lines.filter((l) => l.trim()).map((l) => l.match(/^ */)[0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut)).join('\n');
}

/** `promise`, or a failure after `ms`. */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function matches(body, match) {
  return Object.entries(match || {}).every(([k, v]) => body && body[k] === v);
}

/** DebugClient with the adapter started as `python -m relive dap` (DebugClient's own start
 * spawns `runtime executable`, one argument), its standard error kept, and every event kept. */
class ReliveClient extends DebugClient {
  constructor() {
    super(PYTHON, '-m relive dap', 'relive');
    this.defaultTimeout = TIMEOUT;
    this.events = [];
    this.output = '';  // all the output events' text
    this.stdout = '';  // the program's standard output
    this.stderr = '';  // the adapter's standard error
    this.adapter = null;
    this.adapterExit = null;
    this._waiters = new Set();
  }

  start() {
    return new Promise((resolve, reject) => {
      const child = cp.spawn(PYTHON, ['-m', 'relive', 'dap'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
      });
      this.adapter = child;
      this.adapterExit = new Promise((done) => child.on('exit', (code, signal) => {
        done(code === null ? signal : code);
        this._wake();
      }));
      child.stderr.on('data', (data) => { this.stderr += data.toString(); });
      child.on('error', reject);
      child.on('spawn', () => {
        this.connect(child.stdout, child.stdin);
        resolve();
      });
    });
  }

  /** A request's response, or a failure after the timeout (DebugClient waits forever). */
  send(command, args) {
    return within(super.send(command, args), TIMEOUT, `the response to ${command}`);
  }

  stopAdapter() {
    if (this.adapter && this.adapter.exitCode === null && this.adapter.signalCode === null) {
      this.adapter.kill();
    }
  }

  emit(name, ...args) {
    const message = args[0];
    if (message && message.type === 'event') {
      if (message.event === 'output') {
        this.output += message.body.output;
        if (message.body.category === 'stdout') this.stdout += message.body.output;
      }
      this.events.push(message);
      this._wake();
    }
    return super.emit(name, ...args);
  }

  _wake() {
    for (const waiter of [...this._waiters]) waiter();
  }

  /** Resolves when check() returns something other than undefined (checked at each event). */
  until(check, what, timeout = TIMEOUT) {
    return new Promise((resolve, reject) => {
      let timer = null;
      const waiter = () => {
        let found;
        try {
          found = check();
        } catch (err) {
          finish();
          reject(err);
          return;
        }
        if (found !== undefined) {
          finish();
          resolve(found);
        }
      };
      const finish = () => {
        this._waiters.delete(waiter);
        clearTimeout(timer);
      };
      this._waiters.add(waiter);
      timer = setTimeout(() => {
        finish();
        reject(new Error(`${what}: not there after ${timeout} ms\n${this.story()}`));
      }, timeout);
      waiter();
    });
  }

  /** The first event `name` from index `after` on whose body has the fields of `match`. */
  event(name, { after = 0, match } = {}) {
    return this.until(
      () => this.events.slice(after).find((e) => e.event === name && matches(e.body, match)),
      `event ${name} ${JSON.stringify(match || {})} (from event ${after} on)`);
  }

  /** Resolves once the output events together hold `text`. */
  outputHas(text) {
    return this.until(() => (this.output.includes(text) ? true : undefined),
      `output ${JSON.stringify(text)}`);
  }

  /** Resolves once the program's standard output holds `text`. */
  stdoutHas(text) {
    return this.until(() => (this.stdout.includes(text) ? true : undefined),
      `the program's output ${JSON.stringify(text)}`);
  }

  /** The recent events and the adapter's standard error, for a failure's message. */
  story() {
    const last = this.events.slice(-12).map((e) => `  ${e.event} ${JSON.stringify(e.body || {})}`);
    return `last events:\n${last.join('\n')}\nadapter stderr:\n${this.stderr.slice(-2000)}`;
  }
}

/** One program under `relive dap`. `t` is node:test's context: the session ends with the
 * test. */
class Session {
  constructor(t, source, name = 'hello.py') {
    this.dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'relive-dap-node-')));
    this.program = path.join(this.dir, name);
    fs.writeFileSync(this.program, dedent(source));
    this.dc = new ReliveClient();
    this.disconnected = false;
    t.after(() => this.close());
  }

  get source() {
    return fs.readFileSync(this.program, 'utf8');
  }

  /** Save the program with `before` replaced by `after`, and so on for each pair: one save
   * in the editor. */
  edit(...pairs) {
    let text = this.source;
    for (let i = 0; i < pairs.length; i += 2) {
      assert.ok(text.includes(pairs[i]), `the program has no ${JSON.stringify(pairs[i])}`);
      text = text.replace(pairs[i], pairs[i + 1]);
    }
    fs.writeFileSync(this.program, text);
  }

  mark() {
    return this.dc.events.length;
  }

  /** The launch arguments of the session's program, with `more`. */
  launchArgs(more = {}) {
    return { program: this.program, cwd: this.dir, ...more };
  }

  /** Start the adapter and launch the program with `breakpoints` (line numbers or DAP
   * SourceBreakpoints) set before it runs, as an editor does. */
  async launch({ breakpoints = [], exceptionFilters, ...launch } = {}) {
    const dc = this.dc;
    await dc.start();
    const capabilities = (await dc.initializeRequest()).body;
    assert.equal(capabilities.supportsConfigurationDoneRequest, true);
    await dc.launchRequest(this.launchArgs(launch));
    await dc.event('initialized');
    const wanted = breakpoints.map((b) => (typeof b === 'number' ? { line: b } : b));
    if (wanted.length) {
      const found = await this.setBreakpoints(wanted);
      assert.deepEqual(found.map((b) => b.line), wanted.map((b) => b.line));
    }
    if (exceptionFilters) await dc.setExceptionBreakpointsRequest({ filters: exceptionFilters });
    await dc.configurationDoneRequest();
    return capabilities;
  }

  async setBreakpoints(breakpoints) {
    const response = await this.dc.setBreakpointsRequest({
      source: { path: this.program },
      breakpoints: breakpoints.map((b) => (typeof b === 'number' ? { line: b } : b)),
    });
    return response.body.breakpoints;
  }

  /** The body of the first `stopped` event from `after` on (with `reason`, if given); fails
   * at once if the session ends first. */
  async stopped({ after = 0, reason } = {}) {
    const dc = this.dc;
    const event = await dc.until(() => {
      const events = dc.events.slice(after);
      const found = events.find((e) => e.event === 'stopped'
        && (!reason || e.body.reason === reason));
      if (found) return found;
      if (events.some((e) => e.event === 'terminated')) {
        throw new Error(`the session ended before a stop (${reason || 'any'})\n${dc.story()}`);
      }
      return undefined;
    }, `event stopped ${reason || ''} (from event ${after} on)`);
    return event.body;
  }

  async frames(threadId) {
    return (await this.dc.stackTraceRequest({ threadId })).body.stackFrames;
  }

  async top(threadId) {
    return (await this.frames(threadId))[0];
  }

  /** Variables of a reference as { name: variable }. */
  async variables(variablesReference) {
    const found = (await this.dc.variablesRequest({ variablesReference })).body.variables;
    return Object.fromEntries(found.map((v) => [v.name, v]));
  }

  async scopes(frameId) {
    return (await this.dc.scopesRequest({ frameId })).body.scopes;
  }

  async locals(frameId) {
    const [locals] = await this.scopes(frameId);
    assert.equal(locals.name, 'Locals');
    return this.variables(locals.variablesReference);
  }

  async evaluate(expression, frameId, context = 'repl') {
    return (await this.dc.evaluateRequest({ expression, frameId, context })).body;
  }

  /** Run `request` (a function sending it) and wait for the `stopped` event that follows. */
  async stepping(request, reason = 'step') {
    const mark = this.mark();
    await request();
    return this.stopped({ after: mark, reason });
  }

  /** Resolves once `file` exists in the session's directory; its text. */
  async file(name, timeout = TIMEOUT) {
    const file = path.join(this.dir, name);
    const deadline = Date.now() + timeout;
    for (;;) {
      try {
        return fs.readFileSync(file, 'utf8');
      } catch (err) {
        if (err.code !== 'ENOENT') throw err;
      }
      if (Date.now() > deadline) throw new Error(`no ${name} after ${timeout} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close() {
    const dc = this.dc;
    if (dc.adapter && !this.disconnected && dc.adapter.exitCode === null) {
      this.disconnected = true;
      try {
        await within(dc.disconnectRequest({ terminateDebuggee: true }), 10000, 'disconnect');
      } catch {
        // the adapter is gone or stuck: it is killed below
      }
    }
    dc.stopAdapter();
    if (dc.adapter) await within(dc.adapterExit, 10000, 'the adapter to end').catch(() => {});
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The options of a test for an adapter bug not fixed yet: skipped, with the reason, unless
 * RELIVE_DAP_KNOWN_BUGS=1 (to see whether the bug is still there). */
function knownBug(reason) {
  return process.env.RELIVE_DAP_KNOWN_BUGS === '1' ? {} : { skip: `adapter: ${reason}` };
}

module.exports = { PYTHON, TIMEOUT, Session, ReliveClient, dedent, knownBug, within };
