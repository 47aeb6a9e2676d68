# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _sysctl as sysctl


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize('key,value', [('arp_ignore', 9), ('arp_ignore', -1), ('arp_announce', 3),
                                       ('rp_filter', 3), ('rp_filter', 'loose'), ('arp_ignore', True)])
def test_out_of_range_values_name_the_option_and_range(key, value):
    with pytest.raises(sysctl.SysctlError) as err:
        sysctl.validate_value(key, value)
    low, high = sysctl.KEY_RANGES[key]
    assert str(err.value).startswith(key + ' must be an integer from %d to %d' % (low, high))


@pytest.mark.parametrize('key,value', [('arp_ignore', 0), ('arp_ignore', 8), ('arp_announce', '2'), ('rp_filter', 0)])
def test_values_in_range_come_back_as_int(key, value):
    assert sysctl.validate_value(key, value) == int(value)


@pytest.mark.parametrize('name', ['', 'a/b', 'eth 0', 'x' * 16, '..', 'eth0:1'])
def test_bad_interface_names_are_refused_naming_the_option(name):
    with pytest.raises(sysctl.SysctlError) as err:
        sysctl.unique_interfaces([name])
    assert str(err.value).startswith('interfaces:')


def test_interfaces_are_deduplicated_and_all_default_implicit():
    assert sysctl.unique_interfaces(['eth0', 'all', 'eth0.100', 'eth0', 'default']) == ['eth0', 'eth0.100']
    assert sysctl.targets(['eth0']) == ['all', 'default', 'eth0']


@pytest.mark.parametrize('path', ['/etc/foo.conf', '/etc/sysctl.d/sub/x.conf', '/etc/sysctl.d/x.cfg',
                                  'etc/sysctl.d/x.conf', '/etc/sysctl.d/.hidden.conf', '/etc/sysctl.d/../x.conf', ''])
def test_sysctl_file_must_be_a_conf_directly_in_etc_sysctl_d(path):
    with pytest.raises(sysctl.SysctlError) as err:
        sysctl.validate_sysctl_file(path)
    assert str(err.value).startswith('sysctl_file')


def test_sysctl_file_is_normalised():
    assert sysctl.validate_sysctl_file('/etc/sysctl.d//90-x.conf') == '/etc/sysctl.d/90-x.conf'


# ---------------------------------------------------------------- keys and effective values

def test_dotted_interface_uses_slash_form_in_files_and_literal_dir_in_proc():
    assert sysctl.key_path('eth0.100', 'arp_ignore') == 'net/ipv4/conf/eth0.100/arp_ignore'
    assert sysctl.file_key('eth0.100', 'arp_ignore') == 'net/ipv4/conf/eth0.100/arp_ignore'
    assert sysctl.file_key('eth0', 'arp_ignore') == 'net.ipv4.conf.eth0.arp_ignore'


@pytest.mark.parametrize('text,expected', [
    ('net.ipv4.conf.eth0.arp_ignore', 'net/ipv4/conf/eth0/arp_ignore'),
    ('net/ipv4/conf/eth0.100/arp_ignore', 'net/ipv4/conf/eth0.100/arp_ignore'),
    ('net.ipv4.conf.eth0/100.arp_ignore', 'net/ipv4/conf/eth0.100/arp_ignore'),
    ('/proc/sys/net/ipv4/conf/all/rp_filter', 'net/ipv4/conf/all/rp_filter'),
    ('  net.ipv4.conf.*.rp_filter ', 'net/ipv4/conf/*/rp_filter'),
])
def test_keys_normalise_like_systemd_sysctl(text, expected):
    assert sysctl.normalize_key(text) == expected


@pytest.mark.parametrize('all_value,own,expected', [(1, 0, 1), (0, 2, 2), (2, 2, 2), (None, 1, 1), (1, None, 1)])
def test_effective_value_is_the_larger_of_all_and_interface(all_value, own, expected):
    assert sysctl.effective_value(all_value, own) == expected


def test_effective_report_uses_all_and_own_values():
    values = {
        'net/ipv4/conf/all/arp_ignore': 1, 'net/ipv4/conf/eth0/arp_ignore': 0, 'net/ipv4/conf/eth1/arp_ignore': 2,
        'net/ipv4/conf/all/rp_filter': 0, 'net/ipv4/conf/eth0/rp_filter': 2,
    }
    report = sysctl.effective_report(['eth0', 'eth1'], values.get)
    assert report == {'eth0': {'arp_ignore': 1, 'rp_filter': 2}, 'eth1': {'arp_ignore': 2}}


def test_split_key_path_handles_dots_and_rejects_other_keys():
    assert sysctl.split_key_path('net/ipv4/conf/eth0.100/rp_filter') == ('eth0.100', 'rp_filter')
    assert sysctl.split_key_path('net/ipv4/ip_forward') is None


# ---------------------------------------------------------------- files

def test_render_file_orders_targets_and_keys_and_round_trips():
    wanted = sysctl.desired_values(['eth0.100', 'eth0'], {'arp_ignore': 1, 'arp_announce': 2, 'rp_filter': None})
    text = sysctl.render_file(wanted)
    body = [line for line in text.splitlines() if not line.startswith('#')]
    assert body == [
        'net.ipv4.conf.all.arp_ignore = 1',
        'net.ipv4.conf.all.arp_announce = 2',
        'net.ipv4.conf.default.arp_ignore = 1',
        'net.ipv4.conf.default.arp_announce = 2',
        'net/ipv4/conf/eth0.100/arp_ignore = 1',
        'net/ipv4/conf/eth0.100/arp_announce = 2',
        'net.ipv4.conf.eth0.arp_ignore = 1',
        'net.ipv4.conf.eth0.arp_announce = 2',
    ]
    assert sysctl.managed_paths_from_file(text) == list(wanted)
    parsed = dict((a.key, int(a.value)) for a in sysctl.parse_text(text))
    assert parsed == wanted


def test_parse_text_comments_prefix_and_exclusions():
    items = sysctl.parse_text('# c\n; c\n\n-net.ipv4.conf.all.rp_filter\n-net.ipv4.conf.lo.rp_filter = 1\n'
                              'no assignment here\nnet.ipv4.conf.*.rp_filter=2\n')
    assert [(a.key, a.value, a.exclude, a.ignore_failure) for a in items] == [
        ('net/ipv4/conf/all/rp_filter', None, True, True),
        ('net/ipv4/conf/lo/rp_filter', '1', False, True),
        ('net/ipv4/conf/*/rp_filter', '2', False, False),
    ]
    assert items[2].is_glob and not items[1].is_glob


# ---------------------------------------------------------------- precedence

def _write(root, path, text):
    full = str(root) + path
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w') as handle:
        handle.write(text)


def test_config_files_etc_hides_same_name_in_usr_lib_and_sorts_by_name(tmp_path):
    _write(tmp_path, '/usr/lib/sysctl.d/50-default.conf', 'x = 1\n')
    _write(tmp_path, '/etc/sysctl.d/50-default.conf', 'x = 2\n')
    _write(tmp_path, '/run/sysctl.d/10-early.conf', 'x = 3\n')
    _write(tmp_path, '/usr/local/lib/sysctl.d/99-late.conf', 'x = 4\n')
    _write(tmp_path, '/etc/sysctl.d/README', 'not a conf\n')
    _write(tmp_path, '/etc/sysctl.conf', 'x = 5\n')
    files = sysctl.config_files(root=str(tmp_path))
    assert files == ['/run/sysctl.d/10-early.conf', '/etc/sysctl.d/50-default.conf',
                     '/usr/local/lib/sysctl.d/99-late.conf', '/etc/sysctl.conf']


def test_config_files_excludes_managed_file_and_does_not_read_sysctl_conf_twice(tmp_path):
    _write(tmp_path, '/etc/sysctl.conf', 'x = 5\n')
    _write(tmp_path, '/etc/sysctl.d/90-lvs.conf', 'x = 1\n')
    os.symlink('../sysctl.conf', str(tmp_path) + '/etc/sysctl.d/99-sysctl.conf')
    files = sysctl.config_files(root=str(tmp_path), exclude=('/etc/sysctl.d/90-lvs.conf',))
    assert files == ['/etc/sysctl.d/99-sysctl.conf']


def test_explicit_assignment_beats_glob_whatever_the_order():
    items = sysctl.parse_text('net.ipv4.conf.eth0.rp_filter = 1\n', source='a.conf')
    items += sysctl.parse_text('net.ipv4.conf.*.rp_filter = 2\n', source='b.conf')
    found = sysctl.configured_value(items, 'net/ipv4/conf/eth0/rp_filter')
    assert (found.value, found.source) == ('1', 'a.conf')
    found = sysctl.configured_value(items, 'net/ipv4/conf/eth1/rp_filter')
    assert (found.value, found.source) == ('2', 'b.conf')


def test_last_explicit_assignment_wins_and_exclusion_stops_glob():
    items = sysctl.parse_text('net.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.*.rp_filter = 2\n'
                              '-net.ipv4.conf.all.rp_filter\n', source='50-default.conf')
    items += sysctl.parse_text('net.ipv4.conf.default.rp_filter = 1\n', source='99-sysctl.conf')
    assert sysctl.configured_value(items, 'net/ipv4/conf/all/rp_filter') is None
    assert sysctl.configured_value(items, 'net/ipv4/conf/default/rp_filter').value == '1'
    # a glob never crosses '/': * does not match eth0/extra
    assert sysctl.configured_value(items, 'net/ipv4/conf/eth0/rp_filter').value == '2'
    assert sysctl.configured_value(sysctl.parse_text('net.*.rp_filter = 2'), 'net/ipv4/conf/eth0/rp_filter') is None


def test_restore_values_from_configuration_else_kernel_default(tmp_path):
    _write(tmp_path, '/usr/lib/sysctl.d/50-default.conf',
           'net.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.all.rp_filter\n')
    _write(tmp_path, '/etc/sysctl.d/90-lvs.conf', 'net.ipv4.conf.all.arp_ignore = 1\n')
    _write(tmp_path, '/etc/sysctl.d/60-site.conf', 'net.ipv4.conf.default.arp_announce = 1\n')
    files = sysctl.config_files(root=str(tmp_path), exclude=('/etc/sysctl.d/90-lvs.conf',))
    items = sysctl.read_assignments(files, root=str(tmp_path))
    paths = ['net/ipv4/conf/all/arp_ignore', 'net/ipv4/conf/all/rp_filter', 'net/ipv4/conf/default/rp_filter',
             'net/ipv4/conf/eth0.100/rp_filter', 'net/ipv4/conf/default/arp_announce', 'net/ipv4/conf/eth0/arp_announce']
    restored = sysctl.restore_values(paths, items)
    assert restored == {
        'net/ipv4/conf/all/arp_ignore': (0, 'kernel default'),
        'net/ipv4/conf/all/rp_filter': (0, 'kernel default'),
        'net/ipv4/conf/default/rp_filter': (2, '/usr/lib/sysctl.d/50-default.conf'),
        'net/ipv4/conf/eth0.100/rp_filter': (2, '/usr/lib/sysctl.d/50-default.conf'),
        'net/ipv4/conf/default/arp_announce': (1, '/etc/sysctl.d/60-site.conf'),
        'net/ipv4/conf/eth0/arp_announce': (0, 'kernel default'),
    }


def test_with_file_puts_the_managed_file_in_name_order_and_overrides_its_text(tmp_path):
    _write(tmp_path, '/etc/sysctl.d/10-a.conf', 'net.ipv4.conf.all.arp_ignore = 1\n')
    _write(tmp_path, '/usr/lib/sysctl.d/95-b.conf', 'net.ipv4.conf.all.arp_ignore = 4\n')
    _write(tmp_path, '/usr/lib/sysctl.d/90-lvs.conf', 'net.ipv4.conf.all.arp_ignore = 7\n')
    _write(tmp_path, '/etc/sysctl.conf', '\n')
    files = sysctl.config_files(root=str(tmp_path), exclude=('/etc/sysctl.d/90-lvs.conf',))
    assert files == ['/etc/sysctl.d/10-a.conf', '/usr/lib/sysctl.d/90-lvs.conf', '/usr/lib/sysctl.d/95-b.conf', '/etc/sysctl.conf']
    files = sysctl.with_file(files, '/etc/sysctl.d/90-lvs.conf')
    assert files == ['/etc/sysctl.d/10-a.conf', '/etc/sysctl.d/90-lvs.conf', '/usr/lib/sysctl.d/95-b.conf', '/etc/sysctl.conf']
    items = sysctl.read_assignments(files, root=str(tmp_path),
                                    overrides={'/etc/sysctl.d/90-lvs.conf': 'net.ipv4.conf.lo.arp_ignore = 2\n'})
    assert sysctl.configured_value(items, 'net/ipv4/conf/lo/arp_ignore').value == '2'
    # the later 95-b.conf still has the last word for all
    assert sysctl.configured_value(items, 'net/ipv4/conf/all/arp_ignore').value == '4'


def test_read_proc_value_and_list_interfaces(tmp_path):
    _write(tmp_path, '/net/ipv4/conf/all/arp_ignore', '1\n')
    _write(tmp_path, '/net/ipv4/conf/eth0.100/arp_ignore', '2\n')
    _write(tmp_path, '/net/ipv4/conf/default/arp_ignore', '0\n')
    root = str(tmp_path)
    assert sysctl.list_interfaces(root) == ['eth0.100']
    assert sysctl.read_proc_value('net/ipv4/conf/eth0.100/arp_ignore', root) == 2
    assert sysctl.read_proc_value('net/ipv4/conf/nope/arp_ignore', root) is None


def test_render_values_for_diff():
    text = sysctl.render_values({'net/ipv4/conf/eth0.7/arp_ignore': 1, 'net/ipv4/conf/all/arp_ignore': None})
    assert text == 'net/ipv4/conf/eth0.7/arp_ignore = 1\nnet.ipv4.conf.all.arp_ignore = (absent)\n'


def test_interfaces_holding_the_old_default_follow_default_unless_configured_or_other():
    """After a reboot every NIC took the file's default (1/2); removing the file restores default to
    0/0, and the NICs that hold 1/2 follow it: eth0 and mgmt0. Not eth1 (holding 3 for arp_ignore, by
    hand), not eth2's arp_announce (the site's configuration sets it), not eth3 (named by the plan)."""
    old_file = sysctl.render_file(sysctl.desired_values(['eth3'], {'arp_ignore': 1, 'arp_announce': 2}))
    running = {}
    for name in ('eth0', 'mgmt0', 'eth1', 'eth2', 'eth3'):
        running[sysctl.key_path(name, 'arp_ignore')] = 1
        running[sysctl.key_path(name, 'arp_announce')] = 2
    running[sysctl.key_path('eth1', 'arp_ignore')] = 3
    site = sysctl.parse_text('net.ipv4.conf.eth2.arp_announce = 2\n', source='/etc/sysctl.d/60-site.conf')
    planned = {sysctl.key_path(name, key): 0 for name in ('all', 'default', 'eth3') for key in ('arp_ignore', 'arp_announce')}
    inherited = sysctl.inherited_values(old_file, planned, ['eth0', 'eth1', 'eth2', 'eth3', 'mgmt0'], site, running.get)
    assert inherited == dict((path, (0, sysctl.INHERITED_SOURCE)) for path in (
        'net/ipv4/conf/eth0/arp_ignore', 'net/ipv4/conf/mgmt0/arp_ignore', 'net/ipv4/conf/eth2/arp_ignore',
        'net/ipv4/conf/eth0/arp_announce', 'net/ipv4/conf/eth1/arp_announce', 'net/ipv4/conf/mgmt0/arp_announce'))
    # a plan that keeps default as the file had it moves nothing
    same = dict(planned, **{sysctl.key_path('default', 'arp_ignore'): 1, sysctl.key_path('default', 'arp_announce'): 2})
    assert sysctl.inherited_values(old_file, same, ['eth0'], [], running.get) == {}
    assert sysctl.inherited_values(None, planned, ['eth0'], [], running.get) == {}
