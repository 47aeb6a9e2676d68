"""A refused configuration told in the inventory's words (plugins/plugin_utils/_config_test.py).

The outputs below are the daemons' own, as Debian 12's haproxy 2.6, nginx 1.22 and keepalived 2.2.7
print them for the files below.
"""

from ansible_collections.lvs.cluster.plugins.plugin_utils import _config_test

HAPROXY_CFG = '\n'.join([
    'global',                                                   # 1
    '    maxconn 4096',                                         # 2
    '    # lvs.cluster extra: haproxy_global_extra',            # 3
    '    bogus-keyword 1',                                      # 4
    '    # lvs.cluster end: haproxy_global_extra',              # 5
    'defaults',                                                 # 6
    '    timeout connect 5 s',                                  # 7
    '    # lvs.cluster extra: haproxy_defaults_extra',          # 8
    '    option http-keep-alive',                               # 9
    '    balance fastest',                                      # 10
    '    # lvs.cluster end: haproxy_defaults_extra',            # 11
    'frontend web',                                             # 12
    '    # lvs.cluster extra: lvs_virtual_services[web].haproxy.frontend_extra',
    '    http-request set-header X-A b',                        # 14
    '    # lvs.cluster end: lvs_virtual_services[web].haproxy.frontend_extra',
]) + '\n'
HAPROXY_OUTPUT = """[NOTICE]   (27808) : haproxy version is 2.6.12-1+deb12u4
[ALERT]    (27808) : config : parsing [/tmp/lvs-cluster-haproxy.x1/haproxy.cfg:4] : unknown keyword 'bogus-keyword' in 'global' section
[ALERT]    (27808) : config : parsing [/tmp/lvs-cluster-haproxy.x1/haproxy.cfg:10] : balance only supports 'roundrobin', 'static-rr'
[WARNING]  (27808) : config : parsing [/tmp/lvs-cluster-haproxy.x1/haproxy.cfg:14] : a 'http-request' rule placed \
after a 'use_backend' rule will still be processed before.
[ALERT]    (27808) : config : Error(s) found in configuration file : /tmp/lvs-cluster-haproxy.x1/haproxy.cfg
"""


def test_extra_variables_maps_each_added_line_and_nothing_else():
    assert _config_test.extra_variables(HAPROXY_CFG) == {
        4: 'haproxy_global_extra', 9: 'haproxy_defaults_extra', 10: 'haproxy_defaults_extra',
        14: 'lvs_virtual_services[web].haproxy.frontend_extra'}


def test_mark_extra_writes_the_comments_only_around_lines():
    assert _config_test.mark_extra('x_extra', []) == []
    marked = _config_test.mark_extra('x_extra', ['a', 'b'])
    assert marked == ['# lvs.cluster extra: x_extra', 'a', 'b', '# lvs.cluster end: x_extra']
    assert _config_test.extra_variables('\n'.join(['one'] + marked + ['two'])) == {3: 'x_extra', 4: 'x_extra'}


def test_haproxy_refusals_name_the_variable_and_quote_the_line_warnings_left_out():
    files = {'/tmp/lvs-cluster-haproxy.x1/haproxy.cfg': HAPROXY_CFG}
    refused = _config_test.refused_lines(HAPROXY_OUTPUT, files)
    assert [(one['line'], one['text'], one['variable']) for one in refused] == [
        (4, 'bogus-keyword 1', 'haproxy_global_extra'), (10, 'balance fastest', 'haproxy_defaults_extra')]
    message = _config_test.explain('haproxy', HAPROXY_OUTPUT, files)
    assert message.startswith("haproxy's own configuration test refused the new configuration; nothing was changed. ")
    assert ("haproxy_defaults_extra adds the line 'balance fastest', which haproxy refuses: balance only supports"
            in message)
    assert 'x1/haproxy.cfg:' not in message and 'http-request' not in message


def test_a_refused_line_of_the_role_own_is_quoted_with_its_file_and_number():
    output = '[ALERT] (1) : config : parsing [/tmp/s/haproxy.cfg:7] : unexpected character \' \' in time'
    message = _config_test.explain('haproxy', output, {'/tmp/s/haproxy.cfg': HAPROXY_CFG})
    assert message.endswith("/tmp/s/haproxy.cfg line 7 'timeout connect 5 s': unexpected character ' ' in time")


def test_nginx_tested_on_a_copy_of_the_tree_is_matched_by_the_end_of_the_path():
    http = 'upstream a {}\n# lvs.cluster extra: nginx_upstream_http_extra\nfoo_directive on;\n# lvs.cluster end: x\n'
    output = ('2026/11/29 06:03:08 [emerg] 31322#31322: unknown directive "foo_directive" in '
              '/tmp/lvs-cluster-nginx-check.Ab12/conf/conf.d/lvs-cluster.conf:3\n'
              'nginx: configuration file /tmp/lvs-cluster-nginx-check.Ab12/conf/nginx.conf test failed\n')
    message = _config_test.explain('nginx', output, {'lvs-cluster/stream.conf': '', 'conf.d/lvs-cluster.conf': http})
    assert message.endswith("nginx_upstream_http_extra adds the line 'foo_directive on;', which nginx refuses: "
                            'unknown directive "foo_directive"')


def test_keepalived_lines_with_and_without_a_file_name():
    conf = ('global_defs {\n    router_id a\n    # lvs.cluster extra: keepalived_global_defs_extra\n    foo_bar 1\n'
            '    # lvs.cluster end: keepalived_global_defs_extra\n}\nvrrp_instance VI {\n'
            '    # lvs.cluster extra: keepalived_vrrp_instances[VI].extra\n    notanoption yes\n'
            '    # lvs.cluster end: keepalived_vrrp_instances[VI].extra\n}\n')
    output = ("(Line 4) Unknown keyword 'foo_bar'\n"
              "(/tmp/stage/keepalived.conf: Line 9) Unknown keyword 'notanoption'\n")
    refused = _config_test.refused_lines(output, {'/tmp/stage/keepalived.conf': conf})
    assert [(one['text'], one['variable'], one['message']) for one in refused] == [
        ('foo_bar 1', 'keepalived_global_defs_extra', "Unknown keyword 'foo_bar'"),
        ('notanoption yes', 'keepalived_vrrp_instances[VI].extra', "Unknown keyword 'notanoption'")]


def test_output_naming_no_line_is_given_as_it_is():
    message = _config_test.explain('keepalived', '(VI) Unknown interface!\n\n', {'/tmp/k.conf': 'x\n'})
    assert message.endswith('Its output: (VI) Unknown interface!')
    # a line number past the end of the file is reported without a text rather than guessed
    refused = _config_test.refused_lines('(Line 40) Unknown keyword', {'/tmp/k.conf': 'x\n'})
    assert refused[0]['text'] is None and refused[0]['variable'] is None


def test_keepalived_virtual_server_extra_lines_come_last_as_the_role_template_marks_them():
    # roles/keepalived/templates/keepalived.conf.j2 marks the last len(extra) options as the service's extra
    from ansible_collections.lvs.cluster.plugins.plugin_utils import _estate, _keepalived_virtual_servers
    svc = {'name': 'web', 'address': '10.0.0.50', 'port': 80, 'owner': 'keepalived', 'realservers': 'web',
           'persistence_timeout': 60, 'keepalived': {'quorum': 1, 'alpha': True, 'extra': ['retry 3', 'virtualhost_x y']}}
    expanded = _estate.virtual_services([svc], {'rs1': {'ansible_host': '10.0.0.11'}}, {'web': ['rs1']})
    options = _keepalived_virtual_servers.keepalived_virtual_servers(expanded)['virtual_servers'][0]['options']
    assert options[-2:] == [['retry 3', None], ['virtualhost_x y', None]]


def test_output_as_lines_and_nginx_terminal_prefix():
    http = '# lvs.cluster extra: lvs_virtual_services[web].nginx.extra\n    proxy_buffering maybe;\n# lvs.cluster end: x\n'
    lines = ['', 'nginx: [emerg] invalid value "maybe" in "proxy_buffering" directive, it must be "on" or "off" in '
                 '/tmp/lvs-cluster-nginx-check.Q/conf/conf.d/lvs-cluster.conf:2',
             'nginx: configuration file /tmp/lvs-cluster-nginx-check.Q/conf/nginx.conf test failed']
    message = _config_test.explain('nginx', lines, {'conf.d/lvs-cluster.conf': http})
    assert message.endswith("lvs_virtual_services[web].nginx.extra adds the line 'proxy_buffering maybe;', which nginx "
                            'refuses: invalid value "maybe" in "proxy_buffering" directive, it must be "on" or "off"')
