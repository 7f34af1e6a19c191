'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');

const processes = require('../lib/processes');

const PS = `    1 /sbin/init splash
    2 [kthreadd]
  812 /usr/bin/python3 /usr/bin/networkd-dispatcher --run-startup-triggers
 4410 /home/ada/app/.venv/bin/python3.12 -m uvicorn app:main --port 8000
 4411 bash
 5000 /usr/lib/code/code --type=extensionHost
 6001 python manage.py runserver
 7002 /opt/pypy3/bin/pypy3 bench.py
`;

test('parseProcessList: Python processes first, kernel threads and this process left out', () => {
  const found = processes.parseProcessList(PS, { exclude: [5000] });
  assert.deepEqual(found.map((p) => p.pid), [812, 4410, 6001, 7002, 1, 4411]);
  assert.deepEqual(found.filter((p) => p.python).map((p) => p.label), [
    'python3 /usr/bin/networkd-dispatcher --run-startup-triggers',
    'python3.12 -m uvicorn app:main --port 8000',
    'python manage.py runserver',
    'pypy3 bench.py',
  ]);
  assert.equal(found[1].args, '/home/ada/app/.venv/bin/python3.12 -m uvicorn app:main --port 8000');
  assert.equal(found.find((p) => p.pid === 1).python, false);
});

test('parseProcessList: long command lines are shortened in the label only', () => {
  const args = `python3 ${'x'.repeat(300)}`;
  const [p] = processes.parseProcessList(`42 ${args}`);
  assert.equal(p.args, args);
  assert.equal(p.label.length, 120);
  assert.ok(p.label.endsWith('...'));
});

test('parseProcessList: nothing, or lines that are not processes', () => {
  assert.deepEqual(processes.parseProcessList(''), []);
  assert.deepEqual(processes.parseProcessList(undefined), []);
  assert.deepEqual(processes.parseProcessList('  PID COMMAND\n\n'), []);
});

test('isPythonWord', () => {
  for (const w of ['python', '/usr/bin/python3.11', 'python3.13t', 'C:\\Py\\python.exe', 'pypy']) {
    assert.ok(processes.isPythonWord(w), w);
  }
  for (const w of ['bash', 'ipython', '/usr/bin/python-config', 'pythonista']) {
    assert.ok(!processes.isPythonWord(w), w);
  }
});
