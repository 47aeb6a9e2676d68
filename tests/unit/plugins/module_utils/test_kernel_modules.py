# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure logic of lvs.cluster.kernel_modules (the module itself is proven in the lab's modules scenario)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _kernel_modules as kmod

PROC_MODULES = (
    'ip_vs_wlc 12288 1 - Live 0x0000000000000000\n'
    'ip_vs 196608 5 ip_vs_wlc,[permanent], Live 0x0000000000000000\n'
    'nf_conntrack 188416 1 ip_vs, Live 0x0000000000000000\n'
)


def test_loaded_modules_reads_the_first_column():
    assert kmod.loaded_modules(PROC_MODULES) == {'ip_vs_wlc', 'ip_vs', 'nf_conntrack'}


def test_missing_treats_dash_and_underscore_alike():
    loaded = kmod.loaded_modules(PROC_MODULES)
    assert kmod.missing(['ip-vs-wlc', 'ip_vs', 'ip_vs_sh', 'ipip'], loaded) == ['ip_vs_sh', 'ipip']


def test_validate_names_keeps_first_spelling_and_order():
    assert kmod.validate_names(['ip_vs', 'ipip', 'ip-vs', 'ipip']) == ['ip_vs', 'ipip']


@pytest.mark.parametrize('bad, index', [(['ok', 'bad/name'], 1), ([''], 0), (['a b'], 0), (['x' * 56], 0), ([7], 0)])
def test_validate_names_refuses_with_the_index(bad, index):
    with pytest.raises(kmod.KernelModuleError, match=r'^names\[%d\]: ' % index):
        kmod.validate_names(bad)


@pytest.mark.parametrize('path', ['relative.conf', '/etc/modules-load.d/x.txt', '/etc/modules-load.d/.conf'])
def test_validate_path_refuses(path):
    with pytest.raises(kmod.KernelModuleError, match='^path: '):
        kmod.validate_path(path)


def test_render_file_comment_lines_then_names():
    assert kmod.render_file(['ip_vs', 'ipip'], 'one\ntwo') == '# one\n# two\nip_vs\nipip\n'
    assert kmod.render_file(['ip_vs'], '') == 'ip_vs\n'
