"""site.yml's tags select what their names say, as ansible-playbook --list-tasks reads them."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
INVENTORY = """all:
  children:
    realservers: {hosts: {web1: {}}}
    directors: {hosts: {director1: {}}}
    proxies: {hosts: {lb1: {}}}
"""


def plays(tmp_path, tags):
    """The tasks --list-tasks selects with these tags, by play name."""
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(INVENTORY)
    playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    out = subprocess.run([playbook, '-i', str(inventory), os.path.join(ROOT, 'playbooks', 'site.yml'),
                          '--list-tasks', '--tags', tags], cwd=ROOT, check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, universal_newlines=True).stdout
    result, play = {}, None
    for line in out.splitlines():
        match = re.match(r'\s+play #\d+ \([^)]*\): (.*?)\tTAGS', line)
        if match:
            play = match.group(1)
            result[play] = []
        elif play and 'TAGS:' in line and 'always' not in line.split('TAGS:')[1]:
            # an "always" task (argument validation) runs whatever the tags: it says nothing of them
            result[play].append(line.split('\t')[0].strip())
    return result


def roles(tasks):
    return {task.split(' : ')[0] for task in tasks if ' : ' in task}


@pytest.mark.parametrize('tags, play, wanted, unwanted', [
    # the proxy hosts' keepalived belongs to the proxies
    ('proxies', 'Run haproxy and nginx', {'lvs.cluster.haproxy', 'lvs.cluster.nginx_upstream', 'lvs.cluster.keepalived'},
     set()),
    # the directors' keepalived belongs to the directors
    ('directors', 'Program the directors', {'lvs.cluster.director', 'lvs.cluster.keepalived'}, set()),
    ('directors', 'Run haproxy and nginx', set(), {'lvs.cluster.haproxy', 'lvs.cluster.keepalived'}),
    ('proxies', 'Program the directors', set(), {'lvs.cluster.director', 'lvs.cluster.keepalived'}),
    ('keepalived', 'Run haproxy and nginx', {'lvs.cluster.keepalived'}, {'lvs.cluster.haproxy'}),
])
def test_a_tag_selects_its_roles(tmp_path, tags, play, wanted, unwanted):
    selected = plays(tmp_path, tags)
    names = [name for name in selected if name.startswith(play)]
    assert len(names) == 1, selected.keys()
    found = roles(selected[names[0]])
    assert wanted <= found, found
    assert not (unwanted & found), found
