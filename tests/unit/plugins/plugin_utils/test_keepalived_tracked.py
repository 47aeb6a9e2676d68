"""What keepalived's VRRP instances track and run (_keepalived_tracked), checked on its own: the values the
keepalived.conf renderer gets, and the refusals that name the variable, the entry and the reason."""

import pytest

from ansible_collections.lvs.cluster.plugins.plugin_utils import _keepalived_tracked
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError


def refused(function, value):
    with pytest.raises(PlanError) as error:
        function(value)
    return str(error.value)


def test_vrrp_scripts_take_defaults_quote_a_command_with_blanks_and_refuse_a_second_name():
    assert _keepalived_tracked.vrrp_scripts([{'name': 'up', 'script': 'systemctl is-active haproxy', 'fall': 3}]) == [
        {'name': 'up', 'script': '"systemctl is-active haproxy"', 'interval': 2, 'fall': 3, 'init_fail': False}]
    assert _keepalived_tracked.vrrp_scripts(None) == []
    message = refused(_keepalived_tracked.vrrp_scripts, [{'name': 'up', 'script': 'true'}, {'name': 'up', 'script': 'false'}])
    assert message == "keepalived_vrrp_scripts: the name 'up' is used twice"
    assert refused(_keepalived_tracked.vrrp_scripts, [{'name': 'up', 'script': 'a\nb'}]) == (
        "keepalived_vrrp_scripts[up].script must be a one-line command, not 'a\\nb'")
    assert refused(_keepalived_tracked.vrrp_scripts, [{'name': 'up'}]) == 'keepalived_vrrp_scripts[up].script is required'


def test_track_files_need_an_absolute_path_and_weigh_zero_unless_told():
    assert _keepalived_tracked.vrrp_track_files([{'name': 'down', 'file': '/run/down', 'init_value': 0}]) == [
        {'name': 'down', 'file': '/run/down', 'weight': 0, 'init_value': 0}]
    assert refused(_keepalived_tracked.vrrp_track_files, [{'name': 'down', 'file': 'run/down'}]) == (
        "keepalived_vrrp_track_files[down].file must be an absolute path without blanks or quotes, not 'run/down'")
    assert refused(_keepalived_tracked.vrrp_track_files, [{'name': 'down', 'file': '/run/d', 'weight': 255}]).startswith(
        'keepalived_vrrp_track_files[down].weight')


def test_track_processes_join_blanks_check_the_quorum_range_and_the_delays():
    out = _keepalived_tracked.vrrp_track_processes([{'name': 'hap', 'process': ' haproxy  -Ws ', 'quorum_max': 4,
                                                     'param_match': 'initial', 'delay': 0.5, 'terminate_delay': 2}])
    assert out == [{'name': 'hap', 'process': 'haproxy -Ws', 'weight': 0, 'quorum': 1, 'full_command': False,
                    'quorum_max': 4, 'param_match': 'initial', 'delay': 0.5, 'terminate_delay': 2}]
    # quorum_max below quorum is refused, naming the entry
    assert refused(_keepalived_tracked.vrrp_track_processes,
                   [{'name': 'hap', 'process': 'haproxy', 'quorum': 3, 'quorum_max': 2}]).startswith(
        'keepalived_vrrp_track_processes[hap].quorum_max')
    assert refused(_keepalived_tracked.vrrp_track_processes, [{'name': 'hap', 'process': 'haproxy', 'delay': 'soon'}]) == (
        "keepalived_vrrp_track_processes[hap].delay must be a number of seconds from 0 to 3600, not 'soon'")
    assert 'without quotes' in refused(_keepalived_tracked.vrrp_track_processes, [{'name': 'hap', 'process': 'a "b"'}])


def test_bfd_instances_keep_one_family_and_its_own_hop_limit_word():
    assert _keepalived_tracked.bfd_instances([{'name': 'gw', 'neighbor_ip': '10.0.0.1', 'source_ip': '10.0.0.2',
                                               'min_rx': 100, 'min_tx': 100, 'multiplier': 3, 'ttl': 255}]) == [
        {'name': 'gw', 'neighbor_ip': '10.0.0.1', 'source_ip': '10.0.0.2', 'min_rx': 100, 'min_tx': 100, 'multiplier': 3,
         'ttl': 255, 'passive': False, 'weight': 0}]
    base = {'name': 'gw', 'min_rx': 100, 'min_tx': 100}
    assert refused(_keepalived_tracked.bfd_instances, [dict(base, neighbor_ip='10.0.0.1', source_ip='fd00::2')]) == (
        'keepalived_bfd_instances[gw]: neighbor_ip and source_ip must be of one family')
    assert refused(_keepalived_tracked.bfd_instances, [dict(base, neighbor_ip='fd00::1', ttl=1)]) == (
        'keepalived_bfd_instances[gw].ttl is for IPv4 sessions; an IPv6 one takes hoplimit')
    assert refused(_keepalived_tracked.bfd_instances, [dict(base, neighbor_ip='10.0.0.1', hoplimit=1)]) == (
        'keepalived_bfd_instances[gw].hoplimit is for IPv6 sessions; an IPv4 one takes ttl')
    assert refused(_keepalived_tracked.bfd_instances, [dict(base, neighbor_ip='gateway')]) == (
        "keepalived_bfd_instances[gw].neighbor_ip: 'gateway' is not an IP address")
    assert refused(_keepalived_tracked.bfd_instances, [{'name': 'gw', 'neighbor_ip': '10.0.0.1', 'min_rx': 100}]) == (
        'keepalived_bfd_instances[gw].min_tx is required')


def test_script_files_need_a_file_name_and_one_source():
    assert _keepalived_tracked.script_files([{'name': 'notify.sh', 'content': 'exit 0'}, {'name': 'b', 'src': 'b.sh'}]) == [
        'notify.sh', 'b']
    assert refused(_keepalived_tracked.script_files, [{'name': 'a', 'content': 'x', 'src': 'y'}]) == (
        "keepalived_script_files[a] needs content (the script's text) or src (a file on the controller), one of them")
    assert refused(_keepalived_tracked.script_files, [{'name': '../a', 'content': 'x'}]).startswith(
        "keepalived_script_files[../a].name must be a file name")
    assert refused(_keepalived_tracked.script_files, [{'name': 'a', 'content': 'x'}, {'name': 'a', 'src': 'y'}]) == (
        "keepalived_script_files: the name 'a' is used twice")
