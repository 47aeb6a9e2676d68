"""The roles' per-OS values, as Ansible resolves the roles' own defaults and vars for hosts of each OS family.

The RHEL family cannot be reached from the lab: this is what proves its hosts get their package names, paths
and unit lines (and that Debian's stay as the lab scenarios prove them)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
HOSTS = {'debian': {'os_family': 'Debian'}, 'rhel': {'os_family': 'RedHat'}, 'suse': {'os_family': 'Suse'},
         'unread': None}
PLAYBOOK = """
- name: Resolve the per-OS values of haproxy and nginx_upstream
  hosts: all
  gather_facts: false
  vars_files:
    - {root}/roles/haproxy/defaults/main.yml
    - {root}/roles/haproxy/vars/main.yml
    - {root}/roles/nginx_upstream/defaults/main.yml
    - {root}/roles/nginx_upstream/vars/main.yml
  vars:
    ansible_managed: managed
    haproxy_plan: {{server_state_file: /var/lib/haproxy/server-state}}
  tasks:
    - name: Resolve them
      ansible.builtin.set_fact:
        resolved:
          nginx: "{{{{ {{'stream_packages': nginx_upstream_stream_packages, 'stream_module_link': nginx_upstream_stream_module_link,
                       'auth_group': nginx_upstream_auth_group, 'default_site': nginx_upstream_default_site}} }}}}"
          haproxy_dropin: "{{{{ lookup('ansible.builtin.template', '{root}/roles/haproxy/templates/lvs-cluster.conf.j2') }}}}"
      ignore_errors: true
      register: resolving

    - name: Write them, or the error
      ansible.builtin.copy:
        content: "{{{{ (resolved | default({{'error': resolving.msg | default('')}})) | to_json }}}}"
        dest: "{out}/{{{{ inventory_hostname }}}}.json"
        mode: "0644"
      delegate_to: localhost
"""


@pytest.fixture(scope='module')
def resolved(tmp_path_factory):
    """{host: what it resolved}; each run's host has its facts as extra vars (inventory variables cannot set
    ansible_facts)."""
    tmp = tmp_path_factory.mktemp('os_family')
    (tmp / 'playbook.yml').write_text(PLAYBOOK.format(root=ROOT, out=tmp))
    playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    result = {}
    for host, facts in HOSTS.items():
        extra = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
        if facts is not None:
            extra['ansible_facts'] = facts
        subprocess.run([playbook, '-i', host + ',', '-e', json.dumps(extra), str(tmp / 'playbook.yml')], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result[host] = json.loads((tmp / ('%s.json' % host)).read_text())
    return result


def test_debian_hosts_keep_the_packages_paths_and_unit_the_lab_proves(resolved):
    assert resolved['debian']['nginx'] == {'stream_packages': ['libnginx-mod-stream'],
                                           'stream_module_link': '/etc/nginx/modules-enabled/50-mod-stream.conf',
                                           'auth_group': 'www-data', 'default_site': '/etc/nginx/sites-enabled/default'}
    dropin = resolved['debian']['haproxy_dropin']
    assert 'ExecStart=/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg -f /etc/haproxy/lvs-cluster.d -p $PIDFILE $EXTRAOPTS\n' in dropin
    assert 'RuntimeDirectory' not in dropin and 'BindReadOnlyPaths' not in dropin
    # the servers' states saved first at reload, and dropped at a start
    assert '\nExecReload=\n' in dropin and 'ExecReload=-/usr/local/sbin/lvs-cluster-haproxy-save-state\nExecReload=/usr/sbin/haproxy' in dropin
    assert 'ExecStartPre=-/bin/rm -f /var/lib/haproxy/server-state\n' in dropin


def test_rhel_family_hosts_get_their_own_package_group_and_unit_lines(resolved):
    assert resolved['rhel']['nginx'] == {'stream_packages': ['nginx-mod-stream'], 'stream_module_link': '',
                                         'auth_group': 'nginx', 'default_site': ''}
    dropin = resolved['rhel']['haproxy_dropin']
    # the RHEL unit's CFGDIR and OPTIONS stay on the command line, at start and at reload
    assert '-p $PIDFILE -f $CFGDIR $OPTIONS\n' in dropin and '-c -q -f $CFGDIR $OPTIONS\n' in dropin
    assert '$EXTRAOPTS' not in dropin
    assert '\nRuntimeDirectory=haproxy\nBindReadOnlyPaths=/dev/log:/var/lib/haproxy/dev/log\nExecStart=\n' in dropin


def test_before_the_facts_are_read_the_values_are_debians(resolved):
    # a role's argument validation templates its defaults before the role's first task reads the OS family
    assert resolved['unread'] == resolved['debian']


def test_an_unknown_family_is_an_error_naming_what_to_set(resolved):
    error = resolved['suse'].get('error', '')
    assert "nginx_upstream knows the values of the OS families Debian, RedHat, not of Suse" in error
    assert 'nginx_upstream_auth_group' in error and 'nginx_upstream_stream_packages' in error
