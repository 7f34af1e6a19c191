'use strict';
// The processes that an attach may pick, from the output of `ps -A -o pid= -o args=`.
// Pure: no VS Code here.

const PS_COMMAND = Object.freeze({ command: 'ps', args: ['-A', '-o', 'pid=', '-o', 'args='] });

function base(word) {
  return String(word).split(/[\\/]/).pop();
}

function isPythonWord(word) {
  return /^(python|pypy)(\d+(\.\d+)*)?[tw]?(\.exe)?$/i.test(base(word));
}

/**
 * The processes of `text` (lines `PID ARGS`), leaving out `exclude` (pids: this extension's
 * own) and kernel threads (`[kworker/0:1]`): [{ pid, args, python, label }], Python
 * processes first (by pid), then the others (by pid). `label` is the command line with the
 * program's name only (`python3 app.py`, `python3.12 -m http.server`).
 */
function parseProcessList(text, { exclude = [] } = {}) {
  const skip = new Set(exclude.map(Number));
  const found = [];
  for (const line of String(text || '').split(/\r?\n/)) {
    const match = /^\s*(\d+)\s+(.*\S)\s*$/.exec(line);
    if (!match) continue;
    const pid = Number(match[1]);
    const args = match[2];
    if (skip.has(pid) || /^\[.*\]$/.test(args)) continue;
    const words = args.split(/\s+/);
    const python = isPythonWord(words[0]);
    const label = [base(words[0]), ...words.slice(1)].join(' ');
    found.push({ pid, args, python, label: label.length > 120 ? `${label.slice(0, 117)}...` : label });
  }
  found.sort((a, b) => (a.python === b.python ? a.pid - b.pid : (a.python ? -1 : 1)));
  return found;
}

module.exports = { PS_COMMAND, isPythonWord, parseProcessList };
