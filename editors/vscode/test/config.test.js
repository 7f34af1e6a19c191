'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');

const configs = require('../lib/config');

const pyFile = { path: '/work/app/hello.py', languageId: 'python' };

test('an empty configuration (F5 without launch.json) runs the active Python file', () => {
  const { config } = configs.resolveConfiguration({}, { activeFile: pyFile,
    settings: { hotReload: 'manual' }, workspaceFolder: '/work/app' });
  assert.deepEqual(config, {
    name: 'relive: Current File', type: 'relive', request: 'launch', program: '/work/app/hello.py',
    console: 'integratedTerminal', hotReload: 'manual', cwd: '/work/app',
  });
});

test('an empty configuration without a Python file open is refused with a reason', () => {
  for (const activeFile of [undefined, { path: '/work/app/notes.md', languageId: 'markdown' }]) {
    const result = configs.resolveConfiguration({}, { activeFile });
    assert.equal(result.config, undefined);
    assert.match(result.error, /open a Python file .* or add a launch configuration/);
  }
});

test('hotReload: the configuration\'s, else the setting\'s, else auto', () => {
  const base = { type: 'relive', request: 'launch', name: 'r', program: '/a/x.py' };
  assert.equal(configs.resolveConfiguration({ ...base, hotReload: 'never' },
    { settings: { hotReload: 'manual' } }).config.hotReload, 'never');
  assert.equal(configs.resolveConfiguration(base, { settings: { hotReload: 'manual' } }).config.hotReload, 'manual');
  assert.equal(configs.resolveConfiguration(base, { settings: {} }).config.hotReload, 'auto');
  assert.equal(configs.resolveConfiguration(base, { settings: { hotReload: 'sometimes' } }).config.hotReload, 'auto');
  const bad = configs.resolveConfiguration({ ...base, hotReload: 'always' }, {});
  assert.equal(bad.error, 'The relive configuration "r": "hotReload" is "always"; it must be one of auto, manual, never.');
  assert.equal(bad.openLaunchJson, true);
});

test('launch: program or module, not both, not neither', () => {
  const base = { type: 'relive', request: 'launch', name: 'r' };
  assert.match(configs.resolveConfiguration(base, { activeFile: pyFile }).error,
    /"r": it needs "program" \(a Python file\) or "module"/);
  assert.match(configs.resolveConfiguration({ ...base, program: 'a.py', module: 'a' }, {}).error,
    /both "program" and "module"/);
  assert.equal(configs.resolveConfiguration({ ...base, module: 'http.server' }, {}).config.module, 'http.server');
});

test('launch: remap and console are checked; problems are told together', () => {
  const result = configs.resolveConfiguration({ type: 'relive', request: 'launch', name: 'r',
    program: '/a/x.py', remap: 'never', console: 'browser' }, {});
  assert.equal(result.error, 'The relive configuration "r": "remap" is "never"; it must be one of auto, ask; ' +
    '"console" is "browser"; it must be one of internalConsole, integratedTerminal, externalTerminal.');
});

test('launch: cwd defaults to the workspace folder, else the program\'s directory', () => {
  const base = { type: 'relive', request: 'launch', name: 'r', program: '/srv/app/main.py' };
  assert.equal(configs.resolveConfiguration(base, { workspaceFolder: '/work' }).config.cwd, '/work');
  assert.equal(configs.resolveConfiguration(base, {}).config.cwd, '/srv/app');
  assert.equal(configs.resolveConfiguration({ ...base, cwd: '/tmp' }, { workspaceFolder: '/work' }).config.cwd, '/tmp');
  assert.equal(configs.resolveConfiguration({ ...base, program: '${file}' }, {}).config.cwd, undefined);
});

test('launch: args may be one string, split as a shell does', () => {
  const { config } = configs.resolveConfiguration({ type: 'relive', request: 'launch', name: 'r',
    program: '/a/x.py', args: '--name "Ada Lovelace" -v \'a b\' c\\ d' }, {});
  assert.deepEqual(config.args, ['--name', 'Ada Lovelace', '-v', 'a b', 'c d']);
  assert.deepEqual(configs.splitArgs(''), []);
  assert.deepEqual(configs.splitArgs('  a   b  '), ['a', 'b']);
  assert.deepEqual(configs.splitArgs('"" x'), ['', 'x']);
  assert.deepEqual(configs.splitArgs('"say \\"hi\\"" \'it\'"s"'), ['say "hi"', 'its']);
});

test('the configuration given is not changed', () => {
  const given = { type: 'relive', request: 'launch', name: 'r', program: '/a/x.py', args: 'a b' };
  const copy = JSON.parse(JSON.stringify(given));
  configs.resolveConfiguration(given, { settings: { hotReload: 'manual' }, workspaceFolder: '/w' });
  assert.deepEqual(given, copy);
});

test('attach: a process to pick when none is given; session is kept', () => {
  const base = { type: 'relive', request: 'attach', name: 'a' };
  assert.equal(configs.resolveConfiguration(base, {}).config.processId, '${command:pickProcess}');
  assert.equal(configs.resolveConfiguration({ ...base, processId: 4321 }, {}).config.processId, 4321);
  const session = configs.resolveConfiguration({ ...base, session: 777 }, {}).config;
  assert.equal(session.processId, undefined);
  assert.equal(session.session, 777);
  assert.equal(configs.resolveConfiguration(base, { settings: { hotReload: 'never' } }).config.hotReload, 'never');
});

test('request must be launch or attach', () => {
  assert.match(configs.resolveConfiguration({ type: 'relive', request: 'run', name: 'x' }, {}).error,
    /request "run": it must be launch or attach/);
});

test('resolveSubstituted: a picked process id becomes a number', () => {
  assert.equal(configs.resolveSubstituted({ request: 'attach', name: 'a', processId: ' 4321 ' }).config.processId, 4321);
  assert.equal(configs.resolveSubstituted({ request: 'attach', name: 'a', processId: 99 }).config.processId, 99);
  assert.match(configs.resolveSubstituted({ request: 'attach', name: 'a', processId: 'web' }).error,
    /"processId" must be a process id \(a number\), not "web"/);
  assert.match(configs.resolveSubstituted({ request: 'attach', name: 'a', processId: 0 }).error, /process id/);
  const launch = { request: 'launch', name: 'l', program: '/a/x.py' };
  assert.deepEqual(configs.resolveSubstituted(launch).config, launch);
});

test('templates are fresh objects', () => {
  const one = configs.template('file');
  one.program = 'changed';
  assert.equal(configs.template('file').program, '${file}');
  assert.equal(configs.template('module', { module: 'web' }).module, 'web');
});
