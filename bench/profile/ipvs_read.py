# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs on a lab host whose IPVS table is loaded: where the module_utils' read of the table spends its time.

Times IpvsClient.services() over the whole table and servers() of the first N services, the latter under
cProfile, and prints the profile's top entries. Run by bench/profile/run.sh, which prepares the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import cProfile
import pstats
import sys
import time

sys.path.insert(0, sys.argv[1])
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs  # noqa: E402 pylint: disable=wrong-import-position

PROFILED = int(sys.argv[2])

started = time.time()
with _ipvs.IpvsClient() as client:
    opened = time.time()
    services = client.services()
    listed = time.time()
    plain = sum(len(client.servers(svc)) for svc in services[:PROFILED])
    read = time.time()
    profile = cProfile.Profile()
    profile.enable()
    sum(len(client.servers(svc)) for svc in services[:PROFILED])
    profile.disable()
print('open %.2f s; services(): %d services in %.2f s; servers() of %d services (%d entries): %.2f s, %.2f s under cProfile'
      % (opened - started, len(services), listed - opened, PROFILED, plain, read - listed, time.time() - read))
pstats.Stats(profile).sort_stats('cumulative').print_stats(16)
