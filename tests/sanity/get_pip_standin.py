# lvs.cluster stand-in for ansible-test's get-pip bootstrap script.
# ansible-test downloads get-pip from a host this workplace cannot reach; this does the same job
# with the standard library's ensurepip and PyPI: bootstrap pip, then install the pinned pip.
import ensurepip
import os
import subprocess
import sys

if __name__ == '__main__':
    args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
    # ensurepip rewrites os.environ (PIP_CONFIG_FILE=/dev/null, no PIP_* variables): keep the caller's
    # pip configuration (index, certificates) for the real install.
    environment = dict(os.environ)
    ensurepip.bootstrap(upgrade=True)
    sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install', '--disable-pip-version-check'] + args,
                             env=environment))
