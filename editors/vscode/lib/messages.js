'use strict';
// What the extension says about the adapter's custom events (relive/editApplied,
// relive/rudeEdit) and the hotReload request's answer, in the words `relive run` and
// `relive dap` print. Pure: no VS Code here.

// how each kind of edit is told, in this order (as relive's own output does)
const CHANGE_WORDS = Object.freeze([
  ['update', 'updated'], ['insert', 'added'], ['delete', 'deleted'], ['replace', 'rebuilt'],
]);

// the rudeEdit event's actions, as the notification's buttons name them
const ACTION_TITLES = Object.freeze({ restart: 'Restart', keepRunning: 'Keep running' });

function basename(file) {
  return String(file).split(/[\\/]/).pop();
}

function names(list) {
  return Array.isArray(list) ? list.filter((n) => n !== undefined && n !== null).map(String) : [];
}

/** `updated f, g; added h`: the definitions changed, by kind of edit; `no code changed`. */
function changesText(changes) {
  const parts = [];
  for (const [kind, word] of CHANGE_WORDS) {
    const list = names(changes && changes[kind]);
    if (list.length) parts.push(`${word} ${list.join(', ')}`);
  }
  return parts.length ? parts.join('; ') : 'no code changed';
}

function generationText(generation) {
  if (generation === undefined || generation === null) return '';
  if (typeof generation === 'object') {  // one per file
    const values = [...new Set(Object.values(generation).map(String))];
    return values.length ? `gen ${values.join(', ')}: ` : '';
  }
  return `gen ${generation}: `;
}

function millis(value) {
  const ms = Number(value);
  return value !== undefined && value !== null && Number.isFinite(ms) ? ` (${ms.toFixed(1)} ms)` : '';
}

/**
 * The output channel's line for a relive/editApplied event body (generation, files,
 * updated, changes, durationMs, processes):
 * `hello.py: gen 3: updated print_world (12.0 ms)`, or
 * `app.py: gen 2: updated index in 3 processes (8.4 ms)`.
 */
function editAppliedLine(body = {}) {
  const files = names(body.files).map(basename);
  const changes = body.changes && typeof body.changes === 'object'
    ? body.changes : { update: body.updated };
  const processes = Number(body.processes) || 1;
  const where = files.length ? files.join(', ') : 'edit';
  const inProcesses = processes > 1 ? ` in ${processes} processes` : '';
  return `${where}: ${generationText(body.generation)}${changesText(changes)}${inProcesses}` +
    millis(body.durationMs);
}

function place(body) {
  const file = body.source && body.source.path ? basename(body.source.path) : '';
  const line = Number.isInteger(body.line) && body.line > 0 ? body.line : undefined;
  return { file, line };
}

/** The output channel's line for a relive/rudeEdit event body:
 * `hello.py:12: RL1001 error: the bases of class Cart changed ...`. */
function rudeEditLine(body = {}) {
  const { file, line } = place(body);
  const where = file ? `${file}${line ? `:${line}` : ''}: ` : '';
  const code = body.code ? `${body.code} ` : '';
  return `${where}${code}${body.severity || 'error'}: ${body.message || 'rude edit'}`;
}

/** The actions that a relive/rudeEdit event offers (its `actions`; from an adapter that does
 * not send them: restart or keep running after an error). */
function rudeEditActions(body = {}) {
  const wanted = Array.isArray(body.actions)
    ? body.actions
    : (body.severity === 'warning' ? [] : ['restart', 'keepRunning']);
  return wanted.filter((id) => Object.prototype.hasOwnProperty.call(ACTION_TITLES, id))
    .map((id) => ({ id, title: ACTION_TITLES[id] }));
}

/**
 * The notification for a relive/rudeEdit event body: { severity: 'error'|'warning', text,
 * actions: [{ id, title }] }. An error means the edit was not applied (the program runs the
 * code it had); a warning, that it was applied with the caveat the message states.
 */
function rudeEditNotification(body = {}) {
  const severity = body.severity === 'warning' ? 'warning' : 'error';
  const { file, line } = place(body);
  const where = file ? ` of ${file}${line ? `, line ${line}` : ''}` : '';
  const code = body.code ? ` (${body.code})` : '';
  const message = body.message || 'this edit cannot be applied to the running program';
  const text = severity === 'error'
    ? `relive did not apply the edit${where}: ${message}${code}`
    : `relive applied the edit${where} with a caveat: ${message}${code}`;
  return { severity, text, actions: rudeEditActions(body) };
}

/** A rude edit as a problem in its file: { path, line (0-based), severity, message, code },
 * or undefined when the event names no file. */
function rudeEditDiagnostic(body = {}) {
  if (!body.source || !body.source.path) return undefined;
  const line = Number.isInteger(body.line) && body.line > 0 ? body.line - 1 : 0;
  const severity = body.severity === 'warning' ? 'warning' : 'error';
  const suffix = severity === 'error' ? ' (not applied: the program runs the code it had)' : '';
  return { path: String(body.source.path), line, severity, code: body.code || undefined,
    message: `${body.message || 'rude edit'}${suffix}` };
}

/**
 * What to tell the user about the answer to the hotReload request (the adapter's `enc`
 * outcome: applied, message, files, rude_edits, ...): { level: 'status'|'info'|'warning',
 * text } or undefined when the events of the apply already say it all (a rude edit).
 */
function applyResponseMessage(response) {
  if (!response || typeof response !== 'object') return undefined;
  const message = String(response.message || '').trim();
  if (response.applied) {
    return { level: 'status', text: `relive: ${message || 'edits applied'}` };
  }
  const rude = Array.isArray(response.rude_edits) ? response.rude_edits : [];
  if (rude.some((r) => r && r.severity === 'error')) return undefined;
  if (!names(response.files).length) {
    return { level: 'info', text: `relive: ${message || 'no saved edits to apply'}` };
  }
  return { level: 'warning', text: `relive did not apply the edits: ${message || 'refused'}` };
}

/** The output channel's line when a session's adapter starts:
 * `"Run app.py": relive dap from /v/bin/python (the setting relive.path; Python 3.12.1, relive 0.1.0)`. */
function adapterLine(sessionName, commandText, sourceText, found = {}) {
  const facts = [sourceText];
  if (found.python) facts.push(`Python ${found.python}`);
  if (found.relive) facts.push(`relive ${found.relive}`);
  return `"${sessionName}": ${commandText} (${facts.filter(Boolean).join('; ')})`;
}

module.exports = {
  CHANGE_WORDS,
  ACTION_TITLES,
  changesText,
  editAppliedLine,
  rudeEditLine,
  rudeEditActions,
  rudeEditNotification,
  rudeEditDiagnostic,
  applyResponseMessage,
  adapterLine,
};
