"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip from a host this build machine cannot reach. It then only uses
the script to put pip into a fresh venv, so we do the same with the interpreter's own
ensurepip and install the requested pip version from PyPI. Invoked by ansible-test as
`python get_pip_X_Y.py [pip options] pip==X.Y [--no-setuptools] [--no-wheel]`.
"""

import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *args])
