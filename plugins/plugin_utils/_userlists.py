# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The users an http proxy service asks for (basic_auth), from lists kept out of the estate.

A service names a userlist (``basic_auth.userlist``); the users and their password hashes live in
``lvs_userlists`` (from a vault), which the haproxy and nginx roles read as ``haproxy_userlists`` and
``nginx_upstream_userlists``. So the estate, which playbooks keep as a fact and print in verbose mode, never
holds a hash, and no message here ever quotes one.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

USER_RE = re.compile(r'^[A-Za-z0-9._-]{1,64}$')
# SHA-256 / SHA-512 crypt and yescrypt: what crypt(3) checks for haproxy and for nginx alike on Debian
HASH_RE = re.compile(r'^(\$[56]\$(rounds=[0-9]+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43,86}'
                     r'|\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{43})$')


def needed(services):
    """The userlists the present services of a plan ask for, in order."""
    names = []
    for svc in services:
        auth = svc.get('basic_auth')
        if auth and svc.get('state', 'present') == 'present' and auth['userlist'] not in names:
            names.append(auth['userlist'])
    return names


def check(userlists, names, variable):
    """Check the userlists the services need: each exists, with users whose password is a crypt hash."""
    if not isinstance(userlists, dict):
        raise PlanError('%s must be a mapping of userlist names to lists of users' % variable)
    for name in names:
        if name not in userlists:
            raise PlanError('%s has no userlist %r, which a service\'s basic_auth names' % (variable, name))
        users = userlists[name]
        where = '%s.%s' % (variable, name)
        if not isinstance(users, list) or not users:
            raise PlanError('%s must be a list of {user, password_hash}, at least one' % where)
        seen = set()
        for index, entry in enumerate(users):
            here = '%s[%d]' % (where, index)
            if not isinstance(entry, dict) or sorted(entry) != ['password_hash', 'user']:
                raise PlanError('%s must be a mapping with user and password_hash, nothing else' % here)
            if not isinstance(entry['user'], str) or not USER_RE.match(entry['user']) or entry['user'] in seen:
                raise PlanError('%s.user must be a user name (letters, digits, ".", "_", "-"), once per list' % here)
            seen.add(entry['user'])
            # the value is never quoted: a plain password given by mistake must not reach a log
            if not isinstance(entry['password_hash'], str) or not HASH_RE.match(entry['password_hash']):
                raise PlanError('%s.password_hash (user %s) must be a SHA-512, SHA-256 or yescrypt crypt hash '
                                '(openssl passwd -6, or mkpasswd), never the password itself'
                                % (here, entry['user']))
    return list(names)
