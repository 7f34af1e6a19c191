'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');

const messages = require('../lib/messages');

test('editAppliedLine says it as relive run does', () => {
  assert.equal(messages.editAppliedLine({
    generation: 3, files: ['/home/ada/app/hello.py'], updated: ['print_world'],
    changes: { update: ['print_world'] }, durationMs: 12, processes: 1,
  }), 'hello.py: gen 3: updated print_world (12.0 ms)');
});

test('editAppliedLine: every kind of change, in relive\'s order', () => {
  assert.equal(messages.editAppliedLine({
    generation: 7, files: ['/a/cart.py'], durationMs: 1.26,
    changes: { replace: ['Cart'], insert: ['Cart.tax'], update: ['Cart.total', 'load'], delete: ['old'],
      line_shift: ['moved'] },
  }), 'cart.py: gen 7: updated Cart.total, load; added Cart.tax; deleted old; rebuilt Cart (1.3 ms)');
});

test('editAppliedLine: without changes it uses updated; several files; several processes', () => {
  assert.equal(messages.editAppliedLine({ generation: 2, files: ['/a/x.py', 'C:\\b\\y.py'],
    updated: ['f', 'g'], durationMs: 0.4 }), 'x.py, y.py: gen 2: updated f, g (0.4 ms)');
  assert.equal(messages.editAppliedLine({ generation: 4, files: ['/srv/app.py'], updated: ['index'],
    durationMs: 8.44, processes: 3 }), 'app.py: gen 4: updated index in 3 processes (8.4 ms)');
  assert.equal(messages.editAppliedLine({ generation: 1, files: ['/a/x.py'], updated: [], durationMs: 2 }),
    'x.py: gen 1: no code changed (2.0 ms)');
});

test('editAppliedLine copes with missing fields', () => {
  assert.equal(messages.editAppliedLine({}), 'edit: no code changed');
  assert.equal(messages.editAppliedLine(), 'edit: no code changed');
  assert.equal(messages.editAppliedLine({ generation: null, files: ['/a/x.py'], updated: ['f'],
    durationMs: 'soon' }), 'x.py: updated f');
  assert.equal(messages.editAppliedLine({ generation: { '/a/x.py': 5 }, files: ['/a/x.py'],
    updated: ['f'] }), 'x.py: gen 5: updated f');
});

const bases = {
  code: 'RL1001', severity: 'error', line: 12, source: { path: '/home/ada/app/cart.py' },
  message: 'the bases of class Cart changed (Base -> Other); existing instances and subclasses cannot follow: restart to apply',
  actions: ['restart', 'keepRunning'],
};

test('rudeEditLine says it as relive run does', () => {
  assert.equal(messages.rudeEditLine(bases), `cart.py:12: RL1001 error: ${bases.message}`);
  assert.equal(messages.rudeEditLine({ code: 'RL5001', severity: 'warning', message: 'm' }), 'RL5001 warning: m');
  assert.equal(messages.rudeEditLine({ severity: 'warning', message: 'm', source: { path: '/a/b.py' } }),
    'b.py: warning: m');
});

test('rudeEditNotification: an error offers Restart and Keep running', () => {
  const note = messages.rudeEditNotification(bases);
  assert.equal(note.severity, 'error');
  assert.equal(note.text, `relive did not apply the edit of cart.py, line 12: ${bases.message} (RL1001)`);
  assert.deepEqual(note.actions, [{ id: 'restart', title: 'Restart' }, { id: 'keepRunning', title: 'Keep running' }]);
});

test('rudeEditNotification: a warning was applied, with its caveat', () => {
  const note = messages.rudeEditNotification({ code: 'RL2003', severity: 'warning', line: 4,
    source: { path: '/a/m.py' }, message: 'the default of f changed', actions: [] });
  assert.equal(note.severity, 'warning');
  assert.equal(note.text, 'relive applied the edit of m.py, line 4 with a caveat: the default of f changed (RL2003)');
  assert.deepEqual(note.actions, []);
});

test('rudeEditActions: the event\'s actions; without them, an error offers both', () => {
  assert.deepEqual(messages.rudeEditActions({ severity: 'error' }).map((a) => a.id), ['restart', 'keepRunning']);
  assert.deepEqual(messages.rudeEditActions({ severity: 'warning' }), []);
  assert.deepEqual(messages.rudeEditActions({ severity: 'error', actions: ['keepRunning', 'explode'] }),
    [{ id: 'keepRunning', title: 'Keep running' }]);
  assert.deepEqual(messages.rudeEditActions({ severity: 'error', actions: [] }), []);
});

test('rudeEditDiagnostic: the problem at its line (0-based)', () => {
  assert.deepEqual(messages.rudeEditDiagnostic(bases), {
    path: '/home/ada/app/cart.py', line: 11, severity: 'error', code: 'RL1001',
    message: `${bases.message} (not applied: the program runs the code it had)`,
  });
  assert.deepEqual(messages.rudeEditDiagnostic({ code: 'RL2003', severity: 'warning', message: 'm',
    source: { path: '/a/m.py' } }), { path: '/a/m.py', line: 0, severity: 'warning', code: 'RL2003', message: 'm' });
  assert.equal(messages.rudeEditDiagnostic({ code: 'RL1', severity: 'error', message: 'm' }), undefined);
  assert.equal(messages.rudeEditDiagnostic({ source: {} }), undefined);
});

test('applyResponseMessage: what the hotReload request\'s answer needs saying', () => {
  assert.deepEqual(messages.applyResponseMessage({ applied: true, message: 'hello.py: gen 2: updated f',
    files: ['/a/hello.py'] }), { level: 'status', text: 'relive: hello.py: gen 2: updated f' });
  assert.deepEqual(messages.applyResponseMessage({ applied: false,
    message: 'no saved edits to apply: every file is as it runs', files: [] }),
  { level: 'info', text: 'relive: no saved edits to apply: every file is as it runs' });
  assert.equal(messages.applyResponseMessage({ applied: false, message: 'x', files: ['/a/c.py'],
    rude_edits: [{ severity: 'error', code: 'RL1001' }] }), undefined, 'the rudeEdit event says it');
  assert.deepEqual(messages.applyResponseMessage({ applied: false, files: ['/a/c.py'],
    message: 'c.py:3: invalid syntax', rude_edits: [] }),
  { level: 'warning', text: 'relive did not apply the edits: c.py:3: invalid syntax' });
  assert.equal(messages.applyResponseMessage(undefined), undefined);
  assert.equal(messages.applyResponseMessage({}).level, 'info');
});

test('adapterLine names the command and where it came from', () => {
  assert.equal(messages.adapterLine('relive: Current File', '/v/bin/python -m relive dap',
    'the Python extension\'s selected interpreter', { python: '3.12.1', relive: '0.1.0' }),
  '"relive: Current File": /v/bin/python -m relive dap (the Python extension\'s selected interpreter; Python 3.12.1; relive 0.1.0)');
  assert.equal(messages.adapterLine('a', 'relive dap', 'the setting relive.path'),
    '"a": relive dap (the setting relive.path)');
});
