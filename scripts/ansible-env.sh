# Sourced by the scripts that run Ansible against the lab (test.sh, demo.sh): the venv, the checkout's
# collection path, and Mitogen. Under the lab's software emulation a module run costs about 3 s, mostly
# Python starting and unpacking the module each time; Mitogen keeps one Python per host and ran the
# same 20 module runs in 6-8 s instead of 53-66 s (docs/lab.md, "Speed").
# LVS_MITOGEN=0 runs stock Ansible (the path every user without Mitogen takes).
# shellcheck shell=bash
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export PATH=$root/.venv/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$root/.collections
if [[ ${LVS_MITOGEN:-1} != 0 ]]; then
  ANSIBLE_STRATEGY_PLUGINS=$("$root/.venv/bin/python" -c \
    'import ansible_mitogen, os; print(os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy"))')
  export ANSIBLE_STRATEGY_PLUGINS ANSIBLE_STRATEGY=mitogen_linear
  # Mitogen's start on a host (its bootstrap compiled by the emulated CPU) counts against the connect
  # timeout: with a second guest busy, four hosts starting at once took more than the default 10 s.
  export ANSIBLE_TIMEOUT=${ANSIBLE_TIMEOUT:-60}
fi
