"""Check a built lvs.cluster tarball ships what an installed user needs and nothing of the workshop.

Usage: check_tarball.py lvs-cluster-X.Y.Z.tar.gz   Prints every problem found; exits 1 if any.
"""

import posixpath
import re
import sys
import tarfile

# The workshop: none of it belongs in the tarball.
FORBIDDEN_PREFIXES = ('lab/', 'molecule/', 'bench/', 'scripts/', 'tests/', 'inventories/', '.ci/', '.config/',
                      'changelogs/fragments/', '.venv/', '.collections/', '.cache/')
FORBIDDEN_FILES = ('docs/lab.md', 'ansible.cfg', '.yamllint', '.ansible-lint')
REQUIRED = ('MANIFEST.json', 'FILES.json', 'LICENSE', 'README.md', 'CHANGELOG.rst', 'meta/runtime.yml',
            'playbooks/site.yml', 'docs/estate.md')
LINK = re.compile(r'\]\(([^)\s]+)\)')


def main(path):
    problems = []
    with tarfile.open(path) as tar:
        members = {m.name[2:] if m.name.startswith('./') else m.name: m for m in tar.getmembers()}
        names = set(members)
        dirs = {posixpath.dirname(n) for n in names} | {n for n, m in members.items() if m.isdir()}
        for name in sorted(names):
            if name.startswith(FORBIDDEN_PREFIXES) or name in FORBIDDEN_FILES or name.startswith('requirements'):
                problems.append('ships workshop file %s' % name)
        for name in REQUIRED:
            if name not in names:
                problems.append('lacks %s' % name)
        if not any(re.match(r'roles/pyroute2/files/pyroute2-[0-9.]+-py3-none-any\.whl$', n) for n in names):
            problems.append('lacks the pyroute2 wheel in roles/pyroute2/files')
        for name in sorted(n for n in names if n.endswith('.md')):
            text = tar.extractfile(members[name]).read().decode('utf-8', 'replace')
            for target in LINK.findall(text):
                if re.match(r'[a-z]+:', target) or target.startswith('#'):
                    continue
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target.split('#')[0]))
                if resolved.rstrip('/') not in names | dirs:
                    problems.append('%s links to %s, which the tarball does not hold' % (name, target))
    for problem in problems:
        print(problem)
    print('%s: %d files, %d problems' % (path, len(names), len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
