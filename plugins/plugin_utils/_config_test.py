# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tell what a daemon's own configuration test refused, in the inventory's words.

The roles copy raw lines of ``*_extra`` variables into keepalived.conf, haproxy.cfg and nginx's files
between two comments that name the variable::

    # lvs.cluster extra: haproxy_defaults_extra
    balance fastest
    # lvs.cluster end: haproxy_defaults_extra

When ``keepalived -t``, ``haproxy -c`` or ``nginx -t`` refuses the new files, ``explain`` reads the
file and line numbers from its output and gives each refused line as it stands in the file, with the
variable that added it when it lies between such comments: the operator reads which variable to fix,
not a line number in a temporary file. Controller side and pure.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

BEGIN = '# lvs.cluster extra: '
END = '# lvs.cluster end: '
_BEGIN_RE = re.compile(r'^\s*# lvs\.cluster extra: (\S+)\s*$')
_END_RE = re.compile(r'^\s*# lvs\.cluster end: (\S+)\s*$')
# Where each daemon says a message comes from:
#   haproxy:    [ALERT] ... : config : parsing [/path/haproxy.cfg:7] : unknown keyword ...
#   nginx:      nginx: [emerg] unknown directive "foo" in /path/conf.d/lvs-cluster.conf:12
#   keepalived: (/path/keepalived.conf: Line 10) Unknown keyword 'foo', or (Line 3) ... for the main file
_LOCATION_RES = (
    re.compile(r'\[(?P<path>[^\[\]:]+):(?P<line>[0-9]+)\]'),
    re.compile(r' in (?P<path>/\S+?):(?P<line>[0-9]+)\b'),
    re.compile(r'\((?:(?P<path>[^():]+): )?Line (?P<line>[0-9]+)\)'),
)
# nginx: "nginx: [emerg] " on a terminal, "DATE [emerg] PID#TID: " from its error log
_NGINX_PREFIX_RE = re.compile(r'^.*?\[[a-z]+\] ([0-9]+#[0-9]+: )?')
# Messages that refuse nothing: haproxy's and nginx's warnings and notices.
_NOT_REFUSALS_RE = re.compile(r'\[(WARNING|NOTICE|warn|notice|info)\]')


def mark_extra(variable, lines):
    """The lines of a raw ``extra`` variable between the two comments that name it (none: nothing)."""
    if not lines:
        return []
    return [BEGIN + variable] + list(lines) + [END + variable]


def extra_variables(content):
    """``{line number: variable}`` for every line of the text that an ``extra`` variable added."""
    owner, result = None, {}
    for number, line in enumerate(content.splitlines(), 1):
        begin, end = _BEGIN_RE.match(line), _END_RE.match(line)
        if begin:
            owner = begin.group(1)
        elif end:
            owner = None
        elif owner is not None:
            result[number] = owner
    return result


def _locate(message):
    """The file and line a message names, and its reason (after the place, or before it as nginx puts it)."""
    for pattern in _LOCATION_RES:
        found = pattern.search(message)
        if found:
            reason = message[found.end():].strip(' :') or _NGINX_PREFIX_RE.sub('', message[:found.start()]).strip()
            return found.group('path'), int(found.group('line')), reason
    return None


def _file_of(path, files):
    """The name of the rendered file a path of the output stands for (the test may run on a copy)."""
    if path is None:
        return next(iter(files), None)
    for name in files:
        if path == name or path.endswith('/' + name.lstrip('/')) or name.endswith('/' + path.lstrip('/')):
            return name
    return None


def refused_lines(output, files):
    """Each message of the output that names a line of one of the files: what the line is and who added it.

    ``files`` maps a file's name (its path, or the end of its path in the copy that was tested) to the
    text that was rendered into it. Returns ``[{file, line, text, variable, message}]`` in the output's
    order; ``variable`` is None for a line no ``extra`` variable added.
    """
    refused, seen = [], set()
    for message in output.splitlines():
        located = None if _NOT_REFUSALS_RE.search(message) else _locate(message)
        if located is None:
            continue
        path, number, reason = located
        name = _file_of(path, files)
        if name is None or (name, number) in seen:
            continue
        seen.add((name, number))
        lines = files[name].splitlines()
        text = lines[number - 1].strip() if 0 < number <= len(lines) else None
        refused.append({'file': name, 'line': number, 'text': text,
                        'variable': extra_variables(files[name]).get(number), 'message': reason or message.strip()})
    return refused


def explain(daemon, output, files):
    """One message for the operator: each refused line quoted, the variable that added it named.

    ``output`` is the test's output as text, or as a list of its lines (standard output's and error's).
    """
    if isinstance(output, (list, tuple)):
        output = '\n'.join(str(line) for line in output)
    refused = refused_lines(output, files)
    parts = []
    for entry in refused:
        if entry['variable']:
            parts.append('%s adds the line %r, which %s refuses: %s'
                         % (entry['variable'], entry['text'], daemon, entry['message']))
        else:
            parts.append('%s line %d %r: %s' % (entry['file'], entry['line'], entry['text'], entry['message']))
    head = '%s\'s own configuration test refused the new configuration; nothing was changed' % daemon
    if not parts:
        return '%s. Its output: %s' % (head, ' / '.join(line.strip() for line in output.splitlines() if line.strip()))
    return '%s. %s' % (head, ' / '.join(parts))
