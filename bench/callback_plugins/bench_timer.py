# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Records how long each task took on each host, as JSON lines, for the benchmarks in bench/."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: bench_timer
type: aggregate
short_description: Task durations as JSON lines, for bench/
description:
  - Appends one JSON line per task result (task name, action, host, status, seconds from task start to result, and
    the number of loop items) to the file named by the environment variable C(LVS_BENCH_TIMES). Does nothing when
    it is unset.
requirements:
  - enabled in callbacks_enabled
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._path = os.environ.get('LVS_BENCH_TIMES')
        self._started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.time()

    def v2_playbook_on_handler_task_start(self, task):
        self._started[task._uuid] = time.time()

    def _record(self, result, status):
        if not self._path:
            return
        task = result._task
        seconds = time.time() - self._started.get(task._uuid, time.time())
        # a loop runs the module once per item: that is what a regression to a loop per real server shows
        items = result._result.get('results')
        line = {'task': task.get_name(), 'uuid': task._uuid, 'host': result._host.get_name(), 'status': status,
                'changed': bool(result._result.get('changed')), 'seconds': round(seconds, 3),
                'action': task.action, 'items': len(items) if isinstance(items, list) else None}
        with open(self._path, 'a') as handle:
            handle.write(json.dumps(line) + '\n')

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')
